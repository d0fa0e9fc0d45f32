// Package speech owns speech recognition for voice search: PocketSphinx
// decoders with the US English acoustic model, the general en-us language
// model, and a catalog language model built from the catalog's titles,
// brands and categories. A spoken query is decoded with the catalog model
// alone (small and fast, and the most accurate on product names); when
// what it heard is no path through the catalog's phrases, something else
// was said, and it is decoded again with the catalog model interpolated
// with the general one, so that other words are still heard. A
// recognition can return several readings (WithAlternatives): the
// transcript, the catalog model's own after a fallback, and the catalog
// model's next-best lattice paths, for search to fuse. Stationary noise
// can be subtracted from the clip's spectrum before decoding
// (WithDenoise, Denoise). Follow keeps the catalog model in step with
// PostgreSQL's products change log.
//
// The binding to libpocketsphinx is a small cgo wrapper of its own (the
// few calls used: init, add word, set language model, decode, hypothesis,
// posterior, n-best). No Go binding fits: github.com/xlab/pocketsphinx-go, the
// only one with a release, is generated against a 2016 snapshot, has seen
// no commit since 2017 and is not reachable through the module proxy from
// here; the others wrap the 2022 5.0 API, not Debian bookworm's
// 0.8+5prealpha (libpocketsphinx-dev), which scripts/setup installs.
//
// Words the dictionary lacks (brands such as "Oatly", Swedish names) get
// pronunciations from espeak-ng's IPA, mapped to ARPAbet (Espeak).
package speech
