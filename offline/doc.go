// Package offline holds everything that runs Sluice without AWS, and is the
// proof that the program in infra/ does what it says. Nothing here is
// deployed; the product (infra/, consumer/, migrations/, policy/,
// internal/dbconn, internal/intake) imports nothing from here but in tests.
//
// Each part stands in for one real thing and proves one thing with it:
//
//	part                    stands in for                        proves
//	awsmodel                AWS's answers (ids, ARNs, URLs,      — (the one model both stand-ins below answer from)
//	                        computed outputs, replacements,
//	                        refused deletes)
//	mocks                   AWS, under the Pulumi Go SDK's       — (the runtime of stackrun and componenttest)
//	                        mock monitor
//	stackrun                `pulumi up` without an engine        the program for a stack file registers what the
//	                                                             offline preview and the stack tests read
//	componenttest           —                                    each component's conformance: parenting, tags,
//	                                                             registered outputs, Validate naming its fields,
//	                                                             its exported type token (see Check)
//	preview                 `pulumi preview` (no CLI, no         what a stack would create, with the pack's
//	                        account)                             verdicts (`make preview`)
//	policycheck             the engine presenting resources      the real program has no mandatory violation
//	                        to the policy pack
//	fakeaws                 the pulumi-resource-aws plugin       the real CLI and engine can preview, deploy,
//	                                                             update and destroy the program
//	fakecloud               Pulumi Cloud's policy endpoints      `pulumi policy publish` and enforcement work
//	lifecycle               AWS and the Pulumi Cloud, for the    the users' own `pulumi` commands, preview to
//	                        users' real commands                 destroy (`make rehearse`)
//	enginetest              —                                    the pack stops a preview the settings cannot make
//	mariadbd                RDS MySQL (a private server that     outages: the consumer and migrator survive a
//	                        can be stopped)                      database that goes away
//	testdb                  RDS MySQL (a throw-away database     SQL, migrations and privileges on a real server
//	                        per test on the shared server)
//	offline/local/edge      API Gateway's POST /submit route     the request the integration sends to SQS
//	offline/local/sqsenv    SQS (moto_server)                    queue attributes, redrive, visibility timeout
//	offline/local/poller    the Lambda SQS event source mapping  batches, partial batch responses, concurrency
//	offline/local/pipeline  the whole data path on one machine   nothing accepted is lost (go run ./local)
//	offline/local/spike     a burst of clients                   a spike drains at the database's pace
//	                                                             (go run ./local spike)
//	offline/local/rie       the Lambda runtime                   the built consumer bootstrap under the
//	                                                             Runtime Interface Emulator
//
// Test support that imports nothing of Sluice is in testkit/ (testenv,
// doccheck, lambdarie), as net/http/httptest is to net/http. The layout
// test of this package (TestLayout, run by `make lint`) keeps these lines
// where they are: no package outside offline/ and testkit/ imports testing
// in a non-test file, no package of infra/ but the stack links infra/stack
// in its tests, and no two packages share a name.
package offline
