package lexical

// Dead returns the number of dead doc slots (deleted or replaced
// products whose postings Compact has not reclaimed yet) and of all slots.
func (ix *Index) Dead() (dead, slots int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.dead, len(ix.docs)
}

// Compact reclaims the dead doc slots and their postings once they are at
// least the compaction share of all slots (WithCompaction), renumbering
// the live products in order; it reports whether it compacted. The
// compacted postings are built under the read lock, so searches go on
// while it works (writes wait); the write lock is held only to swap them
// in.
func (ix *Index) Compact() bool {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.RLock()
	if ix.dead == 0 || float64(ix.dead) < ix.cfg.compact*float64(len(ix.docs)) {
		ix.mu.RUnlock()
		return false
	}
	docs, cols, prices, ids, post := ix.compacted()
	ix.rebuildDict() // without the terms no live product holds
	if ix.compacting != nil {
		ix.compacting()
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.docs, ix.cols, ix.prices, ix.ids, ix.post, ix.dead = docs, cols, prices, ids, post, 0
	return true
}

// compacted returns the live docs renumbered in order, their columns and
// prices, their ids, and every posting without the dead slots. Callers
// hold mu (read) and wmu.
func (ix *Index) compacted() ([]doc, []col, []float64, map[string]uint32, []*posting) {
	const gone = ^uint32(0)
	renum := make([]uint32, len(ix.docs))
	docs := make([]doc, 0, ix.live)
	cols := make([]col, 0, ix.live)
	prices := make([]float64, 0, ix.live)
	ids := make(map[string]uint32, ix.live)
	for i := range ix.docs {
		renum[i] = gone
		if d := ix.docs[i]; d.live {
			renum[i] = uint32(len(docs))
			ids[d.id] = renum[i]
			docs = append(docs, d)
			cols = append(cols, ix.cols[i])
			prices = append(prices, ix.prices[i])
		}
	}
	post := make([]*posting, len(ix.post))
	for t, p := range ix.post {
		np := &posting{live: p.live, docs: make([]uint32, 0, p.live), w: make([]float32, 0, p.live), tf: make([][numFields]uint8, 0, p.live)}
		for i, id := range p.docs {
			if n := renum[id]; n != gone {
				np.docs, np.w, np.tf = append(np.docs, n), append(np.w, p.w[i]), append(np.tf, p.tf[i])
			}
		}
		np.blockMax = make([]float32, (len(np.docs)+blockSize-1)/blockSize)
		np.maxima(0)
		post[t] = np
	}
	return docs, cols, prices, ids, post
}
