package spike

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot colours.
var (
	colorDepth  = color.RGBA{0x1f, 0x77, 0xb4, 0xff} // queue depth
	colorStored = color.RGBA{0x2c, 0xa0, 0x2c, 0xff} // rows stored
	colorAxis   = color.RGBA{0x33, 0x33, 0x33, 0xff}
	colorGrid   = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	colorStop   = color.RGBA{0xd6, 0x27, 0x28, 0xff} // sending stopped
)

// Plot draws queue depth (visible + in flight) and this run's rows stored
// over time as a PNG, both axes scaled to the run, with a mark where the
// last POST was answered: the accept spike before it, the drain after.
func Plot(w io.Writer, r Result) error {
	const width, height = 800, 420
	const left, right, top, bottom = 70, 20, 40, 50
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)

	maxT, maxY := math.Max(1, r.SendSeconds), 1.0
	for _, s := range r.Samples {
		maxT = math.Max(maxT, s.Seconds)
		maxY = math.Max(maxY, math.Max(float64(s.QueueDepth), float64(s.Stored)))
	}
	maxY = niceCeil(maxY)
	maxT = niceCeil(maxT)
	plotW, plotH := width-left-right, height-top-bottom
	x := func(t float64) int { return left + int(t/maxT*float64(plotW)) }
	y := func(v float64) int { return top + plotH - int(v/maxY*float64(plotH)) }

	// Grid and tick labels: five steps on each axis.
	for i := 0; i <= 5; i++ {
		v := maxY * float64(i) / 5
		hline(img, left, width-right, y(v), colorGrid)
		label(img, 4, y(v)+4, fmt.Sprintf("%8s", strconv.FormatFloat(v, 'f', -1, 64)), colorAxis)
		t := maxT * float64(i) / 5
		vline(img, x(t), top, top+plotH, colorGrid)
		label(img, x(t)-10, top+plotH+16, strconv.FormatFloat(t, 'f', -1, 64)+"s", colorAxis)
	}
	hline(img, left, width-right, top+plotH, colorAxis)
	vline(img, left, top, top+plotH, colorAxis)

	if r.SendSeconds > 0 {
		xs := x(r.SendSeconds)
		for yy := top; yy <= top+plotH; yy += 6 {
			vline(img, xs, yy, min(yy+3, top+plotH), colorStop)
		}
		label(img, xs+4, top+plotH-8, fmt.Sprintf("sending stopped (%.1fs)", r.SendSeconds), colorStop)
	}
	for i := 1; i < len(r.Samples); i++ {
		a, b := r.Samples[i-1], r.Samples[i]
		line(img, x(a.Seconds), y(float64(a.QueueDepth)), x(b.Seconds), y(float64(b.QueueDepth)), colorDepth)
		line(img, x(a.Seconds), y(float64(a.Stored)), x(b.Seconds), y(float64(b.Stored)), colorStored)
	}

	title := fmt.Sprintf("spike %s: %d sent, %d accepted, %d stored, %d duplicates, %d lost, max %d DB sessions",
		r.RunID, r.Sent, r.Accepted, r.Stored, r.Duplicates, r.Lost, r.MaxDBConnections)
	label(img, left, 16, title, colorAxis)
	legend(img, left+10, top+14, "queue depth (visible + in flight)", colorDepth)
	legend(img, left+10, top+30, "rows stored", colorStored)
	label(img, left+plotW/2-90, height-10, "seconds since the first POST", colorAxis)
	label(img, 4, top-6, "records", colorAxis)
	return png.Encode(w, img)
}

// niceCeil rounds v up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten: an axis ends at most a third past the run's largest value, and five
// ticks still fall on round numbers.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func label(img draw.Image, x, y int, s string, c color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func legend(img *image.RGBA, x, y int, s string, c color.Color) {
	for dy := -1; dy <= 1; dy++ {
		hline(img, x, x+20, y-4+dy, c)
	}
	label(img, x+26, y, s, colorAxis)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a two-pixel-thick segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
