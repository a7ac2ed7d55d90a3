package sqsenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/google/uuid"
	log "github.com/sirupsen/logrus"
)

// AccountID is the account in the queue URLs and ARNs of the in-process
// engine (the same as moto's default).
const AccountID = "123456789012"

// GoAWS is the SQS engine that runs inside this process: the router of
// github.com/Admiral-Piett/goaws (the version go.mod pins; the module proxy
// serves v0.5.4 although `go list -m -versions` lists only v0.4.x) behind
// a bridge (see bridge) on a loopback port. GoAWS keeps its queues
// in package variables, so a process runs one at a time.
type GoAWS struct {
	endpoint string
	srv      *http.Server
	quit     chan bool
	done     chan struct{}
	stopOnce sync.Once
}

var goawsRunning sync.Mutex

// ErrGoAWSRunning is returned by StartGoAWS while another in-process engine
// runs: GoAWS's queues are package state, shared by the whole process.
var ErrGoAWSRunning = errors.New("sqsenv: an in-process GoAWS already runs in this process (its queues are package state); stop it first or use another engine")

// StartGoAWS serves GoAWS on a free 127.0.0.1 port, with queue ARNs in
// region, and returns once it listens.
func StartGoAWS(region string) (*GoAWS, error) {
	if !goawsRunning.TryLock() {
		return nil, ErrGoAWSRunning
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		goawsRunning.Unlock()
		return nil, fmt.Errorf("sqsenv: listen for GoAWS: %w", err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	// GoAWS logs every message body at info level through logrus's
	// process-wide logger; nothing else here uses logrus.
	log.SetOutput(io.Discard)
	log.SetLevel(log.ErrorLevel)
	models.CurrentEnvironment = models.Environment{
		Host: "127.0.0.1", Port: port, Region: region, AccountID: AccountID,
		// SQS's defaults for a queue created without these attributes:
		// visibility 30 s (Developer Guide, Quotas related to messages),
		// 262,144 bytes ("The default for this attribute is 262144",
		// terraform-provider-aws, aws_sqs_queue max_message_size).
		QueueAttributeDefaults: models.EnvQueueAttributes{VisibilityTimeout: 30, MaximumMessageSize: 262144},
	}
	models.SyncQueues.Lock()
	models.SyncQueues.Queues = map[string]*models.Queue{}
	models.SyncQueues.Unlock()

	g := &GoAWS{endpoint: "http://127.0.0.1:" + port, quit: make(chan bool), done: make(chan struct{})}
	g.srv = &http.Server{Handler: &bridge{next: router.New(), region: region}, ReadHeaderTimeout: 10 * time.Second}
	// GoAWS makes in-flight messages visible again, and moves them to the
	// DLQ, once a second.
	go gosqs.PeriodicTasks(time.Second, g.quit)
	go func() {
		defer close(g.done)
		_ = g.srv.Serve(l)
	}()
	return g, nil
}

// Endpoint is the base URL to give the SQS client.
func (g *GoAWS) Endpoint() string { return g.endpoint }

// Transport serves the SQS client's requests from the engine directly,
// without a socket: the edge's SendMessage and the poller's receives then
// cost what the engine costs, not also a loopback round trip each, which
// on a loaded two-core machine is most of an in-process engine's time.
// Endpoint serves the same handler over HTTP for every other client.
func (g *GoAWS) Transport() http.RoundTripper { return handlerTransport{g.srv.Handler} }

// handlerTransport is an http.RoundTripper that calls a handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(rec, in)
	if in.Body != nil {
		_ = in.Body.Close()
	}
	return &http.Response{
		Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()),
		Request: req,
	}, nil
}

// Stop closes the server and forgets every queue. It is safe to call more
// than once.
func (g *GoAWS) Stop() {
	g.stopOnce.Do(func() {
		_ = g.srv.Close()
		<-g.done
		close(g.quit)
		models.SyncQueues.Lock()
		models.SyncQueues.Queues = map[string]*models.Queue{}
		models.SyncQueues.Unlock()
		goawsRunning.Unlock()
	})
}

// bridge sits in front of GoAWS's router and corrects, in the JSON protocol
// (what aws-sdk-go-v2 and the AWS CLI speak to SQS), each answer in which
// GoAWS v0.5.4 differs from SQS in a way the pipeline or the runbook would
// see. The conformance suite (sqstest) checks each of these on every engine.
//
//   - ReceiveMessage: GoAWS sets SentTimestamp to the time of the receive and
//     ApproximateReceiveCount to 1 on every delivery (it never counts its
//     NumberOfReceives). SQS's SentTimestamp is when the message was sent,
//     the same on every delivery, and its ApproximateReceiveCount counts the
//     receives ("Returns the number of times a message has been received
//     across all queues but not deleted", ReceiveMessage API reference).
//     The consumer reads SentTimestamp as the submission time and uses it to
//     tell a redelivery from a resubmission, so both are corrected from
//     GoAWS's own record of the message: SentTime, and NumberOfReceives,
//     counted here.
//   - CreateQueue, GetQueueUrl, ListQueues: with a region set, GoAWS answers
//     queue URLs on host <region>.127.0.0.1, which does not resolve; SQS's
//     URL is on the endpoint the client called, so the region label is
//     dropped (GoAWS finds a queue by the last segment of the URL).
//   - GetQueueAttributes: GoAWS's ApproximateNumberOfMessages counts every
//     message, in flight ones too; SQS's counts those available for
//     retrieval ("ApproximateNumberOfMessages – Returns the approximate
//     number of messages available for retrieval from the queue",
//     GetQueueAttributes API reference), which the drain and the status
//     line read.
//   - ReceiveMessage with VisibilityTimeout 0: GoAWS takes 0 for "not
//     given" and hides the messages for the queue's timeout; SQS makes them
//     visible again at once. The runbook's look into the DLQ
//     (--visibility-timeout 0) would otherwise hide the messages its next
//     step moves. The bridge ends their visibility now (GoAWS's periodic
//     task then returns them within a second, counting the receive).
//   - Errors: GoAWS answers {"Type","Code","Message"}; SQS answers
//     {"__type":"com.amazonaws.sqs#<code>","message"} with the header
//     x-amzn-query-error "<code>;Sender" (or ;Receiver), from which
//     aws-sdk-go-v2 takes the error code and whether the caller is at
//     fault (SQS's awsQueryCompatible trait). Without it an oversized
//     message is a fault of unknown origin, which the edge answers with a
//     500 instead of SQS's 400.
//   - x-amzn-RequestId: GoAWS answers 00000000-0000-0000-0000-000000000000
//     on every call; SQS's is unique per request, and the edge passes it on
//     as RequestId, so the bridge sets a fresh one.
//   - DeleteMessageBatch: GoAWS copies the whole queue into a new slice on
//     every call, so a queue of n messages costs O(n) per batch deleted
//     and a 100,000-record spike drains at a fraction of the stack's pace.
//     The bridge deletes the same entries itself, shifting only the
//     messages before the last one deleted (received messages are near
//     the front); the answer is SQS's.
type bridge struct {
	next   http.Handler
	region string
}

const requestIDHeader = "x-amzn-RequestId"

// jsonTarget is the X-Amz-Target prefix of SQS's JSON protocol.
const jsonTarget = "AmazonSQS."

func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), jsonTarget)
	var fix func(req, resp []byte) ([]byte, error)
	switch {
	case !ok:
	case action == "ReceiveMessage":
		fix = fixReceive
	case action == "CreateQueue", action == "GetQueueUrl", action == "ListQueues":
		fix = b.fixQueueURLs
	case action == "GetQueueAttributes":
		fix = fixCounts
	}
	if fix == nil && action == "DeleteMessageBatch" {
		if b.deleteBatch(w, r) {
			return
		}
	}
	if fix == nil {
		ew := &errorWriter{ResponseWriter: w}
		b.next.ServeHTTP(ew, r)
		if ew.buf != nil {
			body := sqsError(ew.status, ew.buf.Bytes(), w.Header())
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(ew.status)
			_, _ = w.Write(body)
		}
		return
	}
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	b.next.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.status >= 400 {
		body = sqsError(rec.status, body, rec.header)
	}
	if rec.status == http.StatusOK {
		if fixed, err := fix(reqBody, body); err == nil {
			body = fixed
		} else {
			rec.status, body = http.StatusInternalServerError, []byte(`{"__type":"InternalError","message":"`+err.Error()+`"}`)
		}
	}
	rec.header.Set(requestIDHeader, uuid.NewString())
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// deleteBatch answers a valid DeleteMessageBatch on an existing queue and
// reports true; anything else it leaves to GoAWS (and its errors).
func (b *bridge) deleteBatch(w http.ResponseWriter, r *http.Request) bool {
	raw, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if json.Unmarshal(raw, &in) != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
		return false
	}
	handles := make(map[string]string, len(in.Entries)) // receipt handle → entry id
	ids := map[string]bool{}
	for _, e := range in.Entries {
		if ids[e.Id] {
			return false
		}
		ids[e.Id] = true
		handles[e.ReceiptHandle] = e.Id
	}
	name := in.QueueUrl[strings.LastIndexByte(in.QueueUrl, '/')+1:]
	type entry struct {
		Id          string
		Code        string `json:",omitempty"`
		Message     string `json:",omitempty"`
		SenderFault bool   `json:",omitempty"`
	}
	out := struct{ Successful, Failed []entry }{Successful: []entry{}, Failed: []entry{}}

	models.SyncQueues.Lock()
	q := models.SyncQueues.Queues[name]
	if q == nil {
		models.SyncQueues.Unlock()
		return false
	}
	msgs := q.Messages
	deleted := map[int]bool{}
	last := -1
	want := len(handles)
	for i := 0; i < len(msgs) && len(deleted) < want; i++ {
		if id, ok := handles[msgs[i].ReceiptHandle]; ok && msgs[i].ReceiptHandle != "" {
			deleted[i], last = true, i
			q.UnlockGroup(msgs[i].GroupID)
			delete(q.Duplicates, msgs[i].DeduplicationID)
			out.Successful = append(out.Successful, entry{Id: id})
			delete(handles, msgs[i].ReceiptHandle)
		}
	}
	// Keep the order: move the survivors before last towards it, then
	// drop the front.
	w2 := last
	for i := last; i >= 0; i-- {
		if !deleted[i] {
			msgs[w2] = msgs[i]
			w2--
		}
	}
	for i := 0; i < len(deleted); i++ {
		msgs[i] = models.SqsMessage{}
	}
	q.Messages = msgs[len(deleted):]
	models.SyncQueues.Unlock()

	for _, id := range handles {
		// SQS's code for a receipt handle that names no message in flight.
		out.Failed = append(out.Failed, entry{Id: id, Code: "ReceiptHandleIsInvalid", Message: "The input receipt handle is invalid.", SenderFault: true})
	}
	body, err := json.Marshal(out)
	if err != nil {
		return false
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set(requestIDHeader, uuid.NewString())
	_, _ = w.Write(body)
	return true
}

// errorWriter passes a success through and keeps an error answer for
// sqsError.
type errorWriter struct {
	http.ResponseWriter
	status int
	buf    *bytes.Buffer
}

func (w *errorWriter) WriteHeader(status int) {
	w.Header().Set(requestIDHeader, uuid.NewString())
	if status >= 400 {
		w.status, w.buf = status, &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if w.buf != nil {
		return w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// sqsError rewrites GoAWS's JSON error answer as SQS's (see bridge) and
// sets the query-compatibility header in h.
func sqsError(status int, body []byte, h http.Header) []byte {
	var e struct{ Code, Message string }
	if json.Unmarshal(body, &e) != nil || e.Code == "" {
		return body
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	h.Set("x-amzn-query-error", e.Code+";"+fault)
	out, err := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + e.Code, "message": e.Message})
	if err != nil {
		return body
	}
	return out
}

// recorder keeps GoAWS's answer for the bridge to correct.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// queueName is the queue a JSON request names by its QueueUrl.
func queueName(req []byte) (string, error) {
	var in struct{ QueueUrl string }
	if err := json.Unmarshal(req, &in); err != nil {
		return "", fmt.Errorf("sqsenv bridge: request: %w", err)
	}
	return in.QueueUrl[strings.LastIndexByte(in.QueueUrl, '/')+1:], nil
}

// fixReceive corrects SentTimestamp and ApproximateReceiveCount in
// GoAWS's ReceiveMessage answer (see bridge) by rewriting their values in
// place, without decoding and re-encoding the answer: on a 2-core machine
// the drain's receives run beside the burst the spike measures, and
// decoding every body and encoding it again cost as much CPU as GoAWS's
// own handling of every SendMessage and ReceiveMessage together.
//
// GoAWS writes each message as one JSON object, ReceiptHandle before
// Attributes (encoding/json keeps struct order and sorts map keys). A
// quote inside a JSON string is always escaped, so `"ReceiptHandle":"`,
// `"ApproximateReceiveCount":"` and `"SentTimestamp":"` occur only as
// those members, never inside a body or a message attribute's value (a
// message attribute named like them is followed by an object, not `"`).
func fixReceive(req, resp []byte) ([]byte, error) {
	var in struct {
		QueueUrl          string
		VisibilityTimeout *int
	}
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, fmt.Errorf("sqsenv bridge: ReceiveMessage request: %w", err)
	}
	name := in.QueueUrl[strings.LastIndexByte(in.QueueUrl, '/')+1:]
	visibleNow := in.VisibilityTimeout != nil && *in.VisibilityTimeout == 0
	msgs, err := receivedMessages(resp)
	if err != nil || len(msgs) == 0 {
		return resp, err
	}
	byHandle := make(map[string]*receivedMessage, len(msgs))
	for i := range msgs {
		byHandle[msgs[i].handle] = &msgs[i]
	}
	models.SyncQueues.Lock()
	q := models.SyncQueues.Queues[name]
	// The messages just received are the first not in flight: the scan
	// stops as soon as all are found.
	for i, left := 0, len(byHandle); q != nil && i < len(q.Messages) && left > 0; i++ {
		sm := &q.Messages[i]
		m, ok := byHandle[sm.ReceiptHandle]
		if !ok || m.sent != "" {
			continue
		}
		left--
		sm.NumberOfReceives++
		if visibleNow {
			sm.VisibilityTimeout = time.Now()
		}
		m.sent = strconv.FormatInt(sm.SentTime.UnixMilli(), 10)
		m.count = strconv.Itoa(sm.NumberOfReceives)
	}
	models.SyncQueues.Unlock()
	out := make([]byte, 0, len(resp)+16*len(msgs))
	at := 0
	for _, m := range msgs {
		if m.sent == "" {
			return nil, fmt.Errorf("sqsenv bridge: received message %s not found in queue %s", m.handle, name)
		}
		// The two values in the order they appear in the answer.
		first, second := m.countAt, m.sentAt
		firstVal, secondVal := m.count, m.sent
		if second[0] < first[0] {
			first, second, firstVal, secondVal = second, first, secondVal, firstVal
		}
		out = append(out, resp[at:first[0]]...)
		out = append(out, firstVal...)
		out = append(out, resp[first[1]:second[0]]...)
		out = append(out, secondVal...)
		at = second[1]
	}
	return append(out, resp[at:]...), nil
}

// receivedMessage is one message of a ReceiveMessage answer: its receipt
// handle, where the values of its ApproximateReceiveCount and SentTimestamp
// attributes are (start and end offsets of the string's contents), and
// their corrected values.
type receivedMessage struct {
	handle          string
	countAt, sentAt [2]int
	count, sent     string
}

var (
	handleMember = []byte(`"ReceiptHandle":"`)
	countMember  = []byte(`"ApproximateReceiveCount":"`)
	sentMember   = []byte(`"SentTimestamp":"`)
)

// receivedMessages finds the messages of a ReceiveMessage answer as GoAWS
// writes it (see fixReceive).
func receivedMessages(resp []byte) ([]receivedMessage, error) {
	var msgs []receivedMessage
	for at := 0; ; {
		h, ok := stringMember(resp, at, handleMember)
		if !ok {
			return msgs, nil
		}
		next := len(resp)
		if n, ok := stringMember(resp, h[1], handleMember); ok {
			next = n[0]
		}
		c, okc := stringMember(resp[:next], h[1], countMember)
		s, oks := stringMember(resp[:next], h[1], sentMember)
		if !okc || !oks {
			return nil, fmt.Errorf("sqsenv bridge: ReceiveMessage answer without SentTimestamp or ApproximateReceiveCount: %.200s", resp[h[0]:])
		}
		msgs = append(msgs, receivedMessage{handle: string(resp[h[0]:h[1]]), countAt: c, sentAt: s})
		at = h[1]
	}
}

// stringMember finds, from offset at, the member named by member (its
// name, colon and opening quote) whose value is a string without escapes,
// and returns the offsets of the value's contents.
func stringMember(b []byte, at int, member []byte) ([2]int, bool) {
	i := bytes.Index(b[at:], member)
	if i < 0 {
		return [2]int{}, false
	}
	start := at + i + len(member)
	end := bytes.IndexByte(b[start:], '"')
	if end < 0 {
		return [2]int{}, false
	}
	return [2]int{start, start + end}, true
}

func (b *bridge) fixQueueURLs(_, resp []byte) ([]byte, error) {
	if b.region == "" {
		return resp, nil
	}
	return bytes.ReplaceAll(resp, []byte("http://"+b.region+".127.0.0.1:"), []byte("http://127.0.0.1:")), nil
}

func fixCounts(req, resp []byte) ([]byte, error) {
	var out struct{ Attributes map[string]string }
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, fmt.Errorf("sqsenv bridge: GetQueueAttributes answer: %w", err)
	}
	if _, ok := out.Attributes["ApproximateNumberOfMessages"]; !ok {
		return resp, nil
	}
	name, err := queueName(req)
	if err != nil {
		return nil, err
	}
	models.SyncQueues.RLock()
	visible := 0
	if q := models.SyncQueues.Queues[name]; q != nil {
		now := time.Now()
		for i := range q.Messages {
			m := &q.Messages[i]
			// GoAWS's own rule for a hidden message (in flight or delayed).
			if m.ReceiptHandle == "" && !(m.DelaySecs > 0 && now.Before(m.SentTime.Add(time.Duration(m.DelaySecs)*time.Second))) {
				visible++
			}
		}
	}
	models.SyncQueues.RUnlock()
	out.Attributes["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	return json.Marshal(out)
}

// Server is a running SQS engine started by this package.
type Server interface {
	Endpoint() string
	// Transport is how this process's own clients reach the engine; nil
	// means over HTTP to Endpoint.
	Transport() http.RoundTripper
	Stop()
}

// Engines this package starts.
const (
	EngineGoAWS = "goaws" // in process, the default: comes with the Go module graph
	EngineMoto  = "moto"  // moto_server, a Python child process
)

// Start starts engine (EngineGoAWS or EngineMoto); motoLog receives
// moto_server's output.
func Start(ctx context.Context, engine, region string, motoLog *os.File) (Server, error) {
	switch engine {
	case EngineGoAWS, "":
		return StartGoAWS(region)
	case EngineMoto:
		return StartMoto(ctx, motoLog)
	}
	return nil, fmt.Errorf("sqsenv: unknown SQS engine %q (want %s or %s)", engine, EngineGoAWS, EngineMoto)
}
