package rules

// PackName and PackVersion identify the policy pack to the engine and to
// Pulumi Cloud.
const (
	PackName    = "sluice"
	PackVersion = "0.1.0"
)

// All returns the pack's policies in a stable order.
func All() []Policy {
	return []Policy{
		RDSInstanceNotPublic,
		RDSNetworkPrivate,
		SQSQueueHasDLQ,
		RDSIAMAuth,
		EncryptionAtRest,
		TransportTLSRequired,
		LambdaSQSESMSafe,
		APIStageThrottlingLogging,
		IAMNoWildcards,
		ProductionSafeguards,
		LogGroupRetention,
		APIRouteAuthorization,
		ResourcePolicyNotPublic,
		RDSEngineStandardSupport,
	}
}
