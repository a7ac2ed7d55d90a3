package fake

// What Check reads of a component that registers one of its two outputs.
func register(ctx interface {
	RegisterResourceOutputs(any, map[string]any) error
}) error {
	return ctx.RegisterResourceOutputs(nil, map[string]any{"url": ""})
}
