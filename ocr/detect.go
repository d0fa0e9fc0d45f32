package ocr

import (
	"image"
	"slices"

	"gocv.io/x/gocv"
)

// detectSide is the longer side the detector looks at: larger photos are
// shrunk to it first, which keeps the look a few milliseconds long.
const detectSide = 640

// detectParams are the text-line detector's thresholds, in pixels of the
// image it looks at (the photo, shrunk to detectSide at most).
type detectParams struct {
	minHeight, maxHeight int     // a letter's height
	minWidth             int     // a line's width
	minAspect            float64 // a line's width / height
	maxLines             int     // the lines kept, largest first
	block                int     // the adaptive threshold's window (odd)
	contrast             float32 // how much darker (lighter) than its window a letter is
	minLetters           int     // letters in a line
	minBlobs             int     // components in a line (a word of touching letters is one)
}

// defaultDetect was tuned on the Grocery Store Dataset's dev and training
// shop photos against the words a full read of the enlarged photo finds.
var defaultDetect = detectParams{
	minHeight: 6, maxHeight: 40, minWidth: 16, minAspect: 1.5,
	maxLines: 6, block: 25, contrast: 10, minLetters: 4, minBlobs: 3,
}

// textLine is a candidate line of print: its box, the height of its
// tallest letter and whether it is light on dark.
type textLine struct {
	r       image.Rectangle
	letterH int
	light   bool
}

// detect finds candidate lines of text on g, as rows of letter-shaped
// blobs of a local threshold, dark on light and light on dark, at the
// photo's size and at half of it (for letters larger than maxHeight). It
// returns their boxes in g's coordinates, the largest maxLines, after
// dropping boxes mostly inside a larger one. None means no legible text.
func detect(g *image.Gray, p detectParams) []textLine {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	src, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, grayPix(g))
	if err != nil {
		return nil
	}
	defer src.Close()
	scale := 1.0
	if side := max(w, h); side > detectSide {
		scale = float64(detectSide) / float64(side)
		small := gocv.NewMat()
		gocv.Resize(src, &small, image.Pt(max(int(float64(w)*scale), 1), max(int(float64(h)*scale), 1)), 0, 0, gocv.InterpolationArea)
		src.Close()
		src = small
	}
	boxes := append(letterLines(src, true, p), letterLines(src, false, p)...)
	if min(src.Cols(), src.Rows())/2 >= 4*p.minHeight {
		small := gocv.NewMat()
		gocv.Resize(src, &small, image.Pt(src.Cols()/2, src.Rows()/2), 0, 0, gocv.InterpolationArea)
		for _, l := range append(letterLines(small, true, p), letterLines(small, false, p)...) {
			if l.r.Dy() >= 2*p.minHeight { // smaller ones were seen at full size
				boxes = append(boxes, textLine{image.Rect(2*l.r.Min.X, 2*l.r.Min.Y, 2*l.r.Max.X, 2*l.r.Max.Y), 2 * l.letterH, l.light})
			}
		}
		small.Close()
	}
	boxes = keepLargest(boxes, p.maxLines)
	for i, l := range boxes {
		b := l.r
		boxes[i].r = image.Rect(int(float64(b.Min.X)/scale), int(float64(b.Min.Y)/scale),
			int(float64(b.Max.X)/scale+0.999), int(float64(b.Max.Y)/scale+0.999)).Intersect(g.Bounds())
		boxes[i].letterH = int(float64(l.letterH)/scale + 0.5)
	}
	return boxes
}

// letter is one connected component shaped like a letter (or like a few
// touching letters, n of them), a node of the union-find that groups
// letters into lines.
type letter struct {
	r      image.Rectangle
	n      int
	parent int
}

// letterLines finds lines of text as rows of letter-shaped components of
// src thresholded against its local mean (dark letters on light when dark,
// else light on dark): components of similar height, level and close
// side by side, three letters or more, barely taller than the tallest.
func letterLines(src gocv.Mat, dark bool, p detectParams) []textLine {
	ls := letterBlobs(src, dark, p)
	slices.SortFunc(ls, func(a, b letter) int { return a.r.Min.X - b.r.Min.X })
	for i := range ls {
		ls[i].parent = i
	}
	for i := range ls {
		a := ls[i].r
		for j := i + 1; j < len(ls) && ls[j].r.Min.X <= a.Max.X+a.Dy(); j++ {
			if alike(a, ls[j].r) {
				union(ls, i, j)
			}
		}
	}
	type group struct {
		r                 image.Rectangle
		n, blobs, tallest int
	}
	groups := map[int]group{}
	for i := range ls {
		root := find(ls, i)
		g := groups[root]
		groups[root] = group{g.r.Union(ls[i].r), g.n + ls[i].n, g.blobs + 1, max(g.tallest, ls[i].r.Dy())}
	}
	var out []textLine
	for _, g := range groups {
		// a line, not a slanting chain of blobs: barely taller than its
		// tallest letter
		if g.n >= p.minLetters && g.blobs >= p.minBlobs && 2*g.r.Dy() <= 3*g.tallest && g.r.Dx() >= p.minWidth && float64(g.r.Dx()) >= p.minAspect*float64(g.r.Dy()) {
			out = append(out, textLine{g.r, g.tallest, !dark})
		}
	}
	return out
}

// letterBlobs thresholds src against its local mean and keeps the connected
// components sized and filled like a letter, or like a few letters that
// touch, as small print's often do.
func letterBlobs(src gocv.Mat, dark bool, p detectParams) []letter {
	bin := gocv.NewMat()
	defer bin.Close()
	typ := gocv.ThresholdBinary
	if dark {
		typ = gocv.ThresholdBinaryInv
	}
	gocv.AdaptiveThreshold(src, &bin, 255, gocv.AdaptiveThresholdMean, typ, p.block, p.contrast)
	labels, stats, centroids := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer labels.Close()
	defer stats.Close()
	defer centroids.Close()
	n := gocv.ConnectedComponentsWithStats(bin, &labels, &stats, &centroids)
	var ls []letter
	for i := 1; i < n; i++ {
		x, y := int(stats.GetIntAt(i, int(gocv.CC_STAT_LEFT))), int(stats.GetIntAt(i, int(gocv.CC_STAT_TOP)))
		w, h := int(stats.GetIntAt(i, int(gocv.CC_STAT_WIDTH))), int(stats.GetIntAt(i, int(gocv.CC_STAT_HEIGHT)))
		fill := float64(stats.GetIntAt(i, int(gocv.CC_STAT_AREA))) / float64(w*h)
		if h < p.minHeight || h > p.maxHeight || fill < 0.15 {
			continue
		}
		k := 1
		if 2*w > 3*h {
			// touching letters: a word has holes between its strokes,
			// a bar or a frame does not
			if w > 8*h || fill < 0.25 || fill > 0.75 {
				continue
			}
			k = max(10*w/(7*h), 1)
		}
		ls = append(ls, letter{r: image.Rect(x, y, x+w, y+h), n: k})
	}
	return ls
}

// alike reports whether letters a and b (b starting right of a's start)
// could be neighbours on a line: similar heights, centres level, the gap
// between them under the taller one's height.
func alike(a, b image.Rectangle) bool {
	ha, hb := a.Dy(), b.Dy()
	if 3*ha > 5*hb || 3*hb > 5*ha {
		return false
	}
	hm := max(ha, hb)
	dc := (a.Min.Y + a.Max.Y - b.Min.Y - b.Max.Y) / 2
	return dc <= hm/2 && -dc <= hm/2 && b.Min.X-a.Max.X <= hm
}

// find is the union-find root of ls[i], halving the path on the way.
func find(ls []letter, i int) int {
	for ls[i].parent != i {
		ls[i].parent = ls[ls[i].parent].parent
		i = ls[i].parent
	}
	return i
}

// union joins the groups of ls[i] and ls[j].
func union(ls []letter, i, j int) {
	if a, b := find(ls, i), find(ls, j); a != b {
		ls[b].parent = a
	}
}

// keepLargest drops boxes mostly inside a larger one and keeps the n
// largest of the rest.
func keepLargest(lines []textLine, n int) []textLine {
	slices.SortFunc(lines, func(a, b textLine) int {
		return b.r.Dx()*b.r.Dy() - a.r.Dx()*a.r.Dy()
	})
	var out []textLine
	for _, l := range lines {
		if len(out) == n {
			break
		}
		b := l.r
		if !slices.ContainsFunc(out, func(o textLine) bool {
			in := o.r.Intersect(b)
			return 2*in.Dx()*in.Dy() > b.Dx()*b.Dy()
		}) {
			out = append(out, l)
		}
	}
	return out
}

// grayPix is g's pixels without row padding.
func grayPix(g *image.Gray) []byte {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	if g.Stride == w {
		return g.Pix[:w*h]
	}
	out := make([]byte, 0, w*h)
	for y := range h {
		out = append(out, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return out
}

// lineImage is line l of g with a margin, turned dark on light and
// enlarged by an integer factor (1 to 4) that brings its tallest letter
// towards px pixels, for Tesseract.
func lineImage(g *image.Gray, l textLine, px int) *image.Gray {
	h := l.r.Dy()
	box := image.Rect(l.r.Min.X-h/2, l.r.Min.Y-h/3, l.r.Max.X+h/2, l.r.Max.Y+h/3).Intersect(g.Bounds())
	crop := image.NewGray(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := range box.Dy() {
		off := (box.Min.Y+y-g.Rect.Min.Y)*g.Stride + box.Min.X - g.Rect.Min.X
		copy(crop.Pix[y*crop.Stride:y*crop.Stride+box.Dx()], g.Pix[off:off+box.Dx()])
	}
	if l.light {
		for i, v := range crop.Pix {
			crop.Pix[i] = 255 - v
		}
	}
	lh := max(l.letterH, 1)
	return enlarge(crop, min(max((px+lh/2)/lh, 1), 4))
}
