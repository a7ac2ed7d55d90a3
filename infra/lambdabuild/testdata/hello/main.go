// Command hello is a stand-in Lambda main package for lambdabuild tests.
package main

import "fmt"

const greeting = "hello"

func main() { fmt.Println(greeting) }
