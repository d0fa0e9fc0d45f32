package pgcluster

// SharedBuffersSetting exposes sharedBuffersSetting to the external tests.
var SharedBuffersSetting = sharedBuffersSetting

// BuildWorkersSetting exposes buildWorkersSetting to the external tests.
var BuildWorkersSetting = buildWorkersSetting
