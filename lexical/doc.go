// Package lexical owns Vitrine's lexical search: an in-memory inverted
// index of the live products, derived from PostgreSQL (the system of
// record) and kept in sync by a Syncer from the products change log.
//
// Ranking is BM25F over title, brand, category path, attribute values
// and description, each field with its own weight (WithFieldWeight), text
// analysed per catalog languages (package analysis: English and Swedish
// Snowball stemming). A query matches the products that hold every one of
// its words; when none does, it matches those holding any (MatchAny),
// ranked by their BM25F score times the share of query words they hold.
// A title that holds the query as a phrase, or all its words, multiplies
// the score (WithTitleBonus), so exact title matches outrank scattered
// ones.
//
// A query word also stands for its synonyms (WithSynonyms: one-way
// "eggplant => aubergine", multi-way "courgette, zucchini"), and either
// side of a rule may be a phrase: a query holding a rule's phrase, its
// words adjacent, treats it as one unit ("ice cream => glass" finds the
// products holding ice and cream, or glass), and a phrase alternative
// matches the products holding all its words. A synonym is weighed with
// the rarity of what the query said times 0.9, so it ranks below the
// words as typed however many terms it has.
//
// Suggestions (Index.Suggest, Text.Suggest for serving) complete the
// last word being typed from the same term dictionary as typo lookups:
// the words of titles, brands and categories that start with it, or
// those within its typo distance, written as the catalog writes them and
// ranked by document frequency and field; PostgreSQL (popular logged
// queries) only tops them up.
//
// Top-k uses block-max pruning: postings are in doc-id order with the
// largest term weight of every 128 postings; the traversal walks the
// rarest term's blocks, intersects the others by galloping, applies the
// filter (category prefix, brands, price range, attribute containment,
// exclusions) to every match, counts it in the total and the facets, and
// scores only the blocks whose bound can beat the current k-th score.
// Result.Scored reports how many were scored (512 of 9,834 matches for a
// frequent word at 100,000 products).
//
// Any-word queries (MatchAny, the shipped search.match) match the union
// of their words' postings. The total and facets count that union
// exactly: the postings are OR-ed into a bitset of doc slots, and each
// set bit is checked and counted from 12-byte per-doc columns (liveness,
// first category, brand, price band; prices in a column of their own for
// price filters), never from the product's record. The top k come from
// MaxScore: the words sorted by their largest contribution, those whose
// products cannot beat the k-th score without another word are only
// looked up for candidates of the others, runs of candidates whose block
// maxima cannot beat it are skipped a block at a time, and the filter is
// checked only for candidates that can. Results and scores equal scoring
// every product (TestPrunedAnyEqualsBruteForce).
//
// Measured on the 2 shared cores, the test binary of the commit before
// and after built from the same benchmark file and run one after the
// other (go test -c, then ./lexical.test -test.run '^$' -test.bench
// 'Search(Any)?/' -test.benchtime 100x under nice -n 10; top 10 with
// facets). The machine is noisy (the same query varied 2-5x between
// runs), so only ratios within one run mean much:
//
//	                                    100,000            1,000,000
//	any "red apple juice"           9.58 -> 0.57 ms    121 -> 7.9 ms (214,089 matches; 1,020 -> 861 scored)
//	any "organic apple"             6.85 -> 0.57 ms   77.7 -> 5.8 ms (157,040 matches; 6,216 -> 486 scored)
//	any "organic"                   0.55 -> 0.25 ms   40.5 -> 8.1 ms (97,748 matches)
//	any "red apple juice", filtered 4.45 -> 1.36 ms   50.2 -> 14.8 ms (two brands, price at most 50)
//	all "organic"                   0.83 -> 0.08 ms   35.1 -> 2.9 ms
//	all "organic", filtered         0.69 -> 0.09 ms   12.7 -> 4.9 ms (category Dairy, price at most 50)
//
// The columns cost 20 bytes a product: BenchmarkBuild (-benchtime 1x,
// same run) holds 899.7 MiB before and 921.9 MiB after at 1,000,000
// products (84.8 and 89.6 MiB at 100,000), built in 34.9 and 31.0 s.
//
// Typo, prefix and compound candidates come from the term dictionary: a
// finite-state transducer of the terms and one of the reversed terms
// (github.com/blevesearch/vellum), built with the index (Reweigh, after a
// snapshot) and on Compact, with the terms written since kept in a small
// sorted tail. A typo is found by walking the FST with the query word's
// Levenshtein automaton (adjacent swaps one edit), which visits only the
// dictionary's states within the distance; a prefix is a range of it.
// BenchmarkTypoLookup measured it against the sorted-list scan it
// replaced, in one run, on pseudo-word vocabularies the size of a
// 10,000, 100,000 and 1,000,000-product catalog's by Heaps' law (31,112,
// 98,386 and 311,126 terms; go test -run '^$' -bench TypoLookup
// -benchtime 30x ./lexical, 2 shared cores at load average ~20, so
// wall times are inflated and only the ratios mean much):
//
//	                           10,000       100,000       1,000,000
//	one edit (6 letters)    22.5 -> 1.16 ms  87.1 -> 0.52 ms  304 -> 0.056 ms
//	two edits (10 letters)  46.2 -> 5.61 ms   134 -> 3.31 ms  579 -> 0.79 ms
//	prefix (3 letters)      10.0 -> 25.4 µs  16.6 -> 45.2 µs  45.7 -> 133 µs
//
// The scan grows with the vocabulary, the automaton with the matches
// (fewer as the pseudo-words spread out), so typo lookups are 20 to
// 5,000 times faster. A prefix range is 2.5 to 3 times slower than a
// binary search of a sorted list (it decodes every key in the range),
// but stays in microseconds next to a search's milliseconds, and one
// structure serves all three lookups without the two sorted string lists
// (about 40 bytes a term, plus re-sorting after new terms).
//
// Why not Bleve: measured beside this index and ts_rank_cd in the same
// run by `vitrine bench search` (package bench/search/bleveengine: Bleve
// v2.6.3, scorch, BM25, English analyzer, this index's field weights as
// boosts, every query word required; 8 clients on 2 cores). On one word,
// where both match the same products, at 1,000,000 products Bleve's p50 is
// 103 ms for the most frequent words (125,000 matches) against 0.54 ms
// here, and 19.5 ms against 0.40 ms for shopper words; at 100,000, 4.0
// against 0.07 ms and 0.91 against 0.03 ms. Bleve scores every match and
// has no dynamic pruning (this index scored 10 documents for those
// queries), and its all-words 2- and 3-word queries (a disjunction over
// the fields per word) are slower than ts_rank_cd's: 132 and 166 ms at
// 1,000,000 against 62 and 30 ms. It is smaller (67.5 MiB of
// memory-mapped segments and 8 MiB of heap at 1,000,000, against this
// index's 886 MiB of heap, with no filter or facet columns) and builds 3.1
// times slower (32.5 s against 10.3 s). Figures and commands:
// BENCHMARKS.md, "Search: vitrine bench search".
package lexical
