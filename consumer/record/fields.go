package record

// table is the record: one entry per JSON member of a submission and
// users column, in the order they are checked and stored. Everything else
// (decoding, validation, the reasons, the consumer's INSERT, read-back and
// conflict comparison, sample records, fuzz seeds, the docs table) is
// derived from it. docs/contributing.md says how to add a field and which
// migration goes with it; `SLUICE_UPDATE_DOCS=1 go test -run
// TestDocumentedFields ./consumer/` rewrites the docs table from it.
//
// It is an array, not a slice, so that its length is a constant (see
// members).
var table = [...]Field{
	{Member: "name", Column: "name", Kind: String, Required: true, MaxChars: 255,
		Sample: "山田 太郎 %d"},
	{Member: "email", Column: "email", Kind: String, Required: true, MaxBytes: 254, Check: &EmailAddress},
	// New fields go here (docs/contributing.md, "Add a field to the record").
}
