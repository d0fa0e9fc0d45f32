package records

// IndexFootprint is what a vector space's HNSW index costs and how its
// graph was built.
type IndexFootprint struct {
	// BuildMemory is the maintenance_work_mem a build gets (the configured
	// size, or with auto the graph's size for the vectors the space holds
	// now) and IndexBytes the index's size on disk (0 before it is built),
	// both in bytes.
	BuildMemory, IndexBytes int64
	// M (neighbours a node keeps a level, 2m on the base level) and
	// EfConstruction (candidates each insertion examines) are the graph
	// parameters the index was built with, or those a build would use
	// before it is built.
	M, EfConstruction int
}
