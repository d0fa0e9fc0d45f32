package pgcluster

// SharedBuffersSetting exposes sharedBuffersSetting to the external tests.
var SharedBuffersSetting = sharedBuffersSetting
