package saba

// The test helpers of this package, for its external tests (package
// saba_test, which may import sabademo: package saba may not).
var (
	NewTestSim = newTestSim
	TaskConfig = taskConfig
)
