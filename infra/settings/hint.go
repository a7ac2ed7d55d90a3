package settings

import "strings"

// maxHintDistance is how many single-character edits a misspelt key may be
// from a known one to be named in the hint ("batchsize" is 0 edits from
// "batchSize" ignoring case, "maxRecieveCount" 2 from "maxReceiveCount").
const maxHintDistance = 2

// closest returns the name in names nearest to name, ignoring case, when it
// is at most maxHintDistance edits away; otherwise "". Ties go to the first
// in names.
func closest(name string, names []string) string {
	best, bestDistance := "", maxHintDistance+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), strings.ToLower(n)); d < bestDistance {
			best, bestDistance = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
