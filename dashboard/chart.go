package dashboard

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/karmagate/karmagate/models"
)

// Charts are drawn here as geometry (numbers and SVG path data) that the
// templates put into inline SVG: no script, nothing fetched, and the
// stylesheet gives the colours.

// series is one named row of values over a timeline.
type series struct {
	Key    string
	Label  string
	Values []int64
}

type tick struct {
	Pos   float64
	Label string
}

type svgRect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type svgLine struct {
	Class string
	Path  string // the line
	Area  string // the area under it, when filled
	Dots  []svgDot
}

type svgDot struct {
	X, Y  float64
	Title string
}

type legendItem struct {
	Class string
	Label string
	Value string
}

// chart is one chart's geometry in a viewBox of W by H.
type chart struct {
	W, H                     int
	Left, Right, Top, Bottom float64
	YTicks                   []tick
	XTicks                   []tick
	Lines                    []svgLine
	Bars                     []svgRect
	Columns                  []svgRect // hover targets, one per step, with every value in the title
	Legend                   []legendItem
	Empty                    bool // every value is zero
	Summary                  string
}

// size is a chart's viewBox; it should be near the size it is shown at,
// so that its text reads at the page's size.
type size struct{ W, H int }

// Chart sizes: a card's whole width, or half of it.
var (
	wide = size{1000, 280}
	half = size{480, 230}
)

func newChart(sz size, maxV int64) *chart {
	c := &chart{W: sz.W, H: sz.H, Left: 40, Right: float64(sz.W) - 14, Top: 12, Bottom: float64(sz.H) - 28}
	top, step := niceScale(maxV)
	for v := int64(0); v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{Pos: c.y(v, top), Label: formatInt(v)})
	}
	return c
}

// LabelX is where the y axis' labels end.
func (c *chart) LabelX() float64 { return c.Left - 8 }

// LabelY is the baseline of the x axis' labels.
func (c *chart) LabelY() float64 { return float64(c.H) - 8 }

// y is where value v sits on a scale from 0 to top.
func (c *chart) y(v, top int64) float64 {
	return c.Bottom - float64(v)/float64(top)*(c.Bottom-c.Top)
}

// niceScale picks the top of the y axis and the step between its ticks:
// four or five steps of 1, 2 or 5 times a power of ten, at least 1.
func niceScale(maxV int64) (top, step int64) {
	if maxV <= 4 {
		return 4, 1
	}
	raw := float64(maxV) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = int64(mag)
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = int64(m * mag)
			break
		}
	}
	step = max(step, 1)
	top = (maxV + step - 1) / step * step
	return top, step
}

// stepLabel names step i of t for a tooltip.
func stepLabel(t models.Timeline, i int) string {
	at := t.From.Add(time.Duration(i) * t.Step)
	if t.Step >= 24*time.Hour {
		return at.Format("Mon 2 Jan")
	}
	return at.Format("2 Jan 15:04") + "–" + at.Add(t.Step).Format("15:04")
}

// xTicks labels a timeline: every other day, or every six hours with the
// date at midnight.
func (c *chart) xTicks(t models.Timeline) {
	for i := 0; i <= t.N; i++ {
		at := t.From.Add(time.Duration(i) * t.Step)
		var label string
		switch {
		case t.Step >= 24*time.Hour:
			if i == t.N || (t.N-1-i)%2 != 0 {
				continue
			}
			label = at.Format("2 Jan")
		case at.Hour() == 0 && at.Minute() == 0:
			label = at.Format("2 Jan")
		case at.Hour()%6 == 0 && at.Minute() == 0:
			label = at.Format("15:04")
		default:
			continue
		}
		c.XTicks = append(c.XTicks, tick{Pos: c.colX(t, i), Label: label})
	}
}

func (c *chart) colW(t models.Timeline) float64 { return (c.Right - c.Left) / float64(t.N) }
func (c *chart) colX(t models.Timeline, i int) float64 {
	return c.Left + float64(i)*c.colW(t)
}

func at(v []int64, i int) int64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// seriesClass gives series i its colour; failures are always red.
func seriesClass(i int, key string) string {
	if key == "failed" {
		return "cf"
	}
	return fmt.Sprintf("c%d", i%8)
}

// lineChart draws one line per series with a point per step (the value at
// the step's end), the area under it when fill, and the last value in the
// legend.
func lineChart(sz size, t models.Timeline, ss []series, fill bool) *chart {
	maxV := int64(0)
	for _, s := range ss {
		for _, v := range s.Values {
			maxV = max(maxV, v)
		}
	}
	c := newChart(sz, maxV)
	c.Empty = maxV == 0
	top, _ := niceScale(maxV)
	gap := (c.Right - c.Left) / float64(max(t.N-1, 1))
	px := func(i int) float64 { return c.Left + float64(i)*gap }
	for i := 0; i < t.N; i++ {
		end := t.From.Add(time.Duration(i+1) * t.Step)
		var label string
		switch {
		case t.Step >= 24*time.Hour:
			if (t.N-1-i)%2 != 0 {
				continue
			}
			label = end.Add(-time.Second).Format("2 Jan")
		case end.Hour() == 0 && end.Minute() == 0:
			label = end.Format("2 Jan")
		case end.Hour()%6 == 0 && end.Minute() == 0:
			label = end.Format("15:04")
		default:
			continue
		}
		c.XTicks = append(c.XTicks, tick{Pos: px(i), Label: label})
	}
	for k, s := range ss {
		l := svgLine{Class: seriesClass(k, s.Key)}
		var p strings.Builder
		for i := 0; i < t.N; i++ {
			x, y := px(i), c.y(at(s.Values, i), top)
			if i == 0 {
				fmt.Fprintf(&p, "M%.1f %.1f", x, y)
			} else {
				fmt.Fprintf(&p, "L%.1f %.1f", x, y)
			}
			if t.N <= 31 {
				l.Dots = append(l.Dots, svgDot{X: x, Y: y, Title: fmt.Sprintf("%s · %s: %s", s.Label, stepLabel(t, i), formatInt(at(s.Values, i)))})
			}
		}
		l.Path = p.String()
		if fill && t.N > 0 {
			l.Area = fmt.Sprintf("%sL%.1f %.1fL%.1f %.1fZ", l.Path, px(t.N-1), c.Bottom, px(0), c.Bottom)
		}
		c.Lines = append(c.Lines, l)
		c.Legend = append(c.Legend, legendItem{Class: l.Class, Label: s.Label, Value: "now " + formatInt(at(s.Values, t.N-1))})
	}
	for i := 0; i < t.N; i++ {
		var b strings.Builder
		b.WriteString(stepLabel(t, i))
		for _, s := range ss {
			fmt.Fprintf(&b, "\n%s: %s", s.Label, formatInt(at(s.Values, i)))
		}
		x0, x1 := max(px(i)-gap/2, c.Left), min(px(i)+gap/2, c.Right)
		c.Columns = append(c.Columns, svgRect{X: x0, Y: c.Top, W: x1 - x0, H: c.Bottom - c.Top, Title: b.String()})
	}
	return c
}

// barChart stacks the series per step, with each series' total in the
// legend.
func barChart(sz size, t models.Timeline, ss []series) *chart {
	maxV := int64(0)
	for i := 0; i < t.N; i++ {
		sum := int64(0)
		for _, s := range ss {
			sum += at(s.Values, i)
		}
		maxV = max(maxV, sum)
	}
	c := newChart(sz, maxV)
	c.Empty = maxV == 0
	top, _ := niceScale(maxV)
	c.xTicks(t)
	w := c.colW(t)
	gap := math.Min(3, w*0.2)
	for i := 0; i < t.N; i++ {
		base := int64(0)
		for k, s := range ss {
			v := at(s.Values, i)
			if v == 0 {
				continue
			}
			y0, y1 := c.y(base, top), c.y(base+v, top)
			c.Bars = append(c.Bars, svgRect{X: c.colX(t, i) + gap/2, Y: y1, W: w - gap, H: y0 - y1, Class: seriesClass(k, s.Key),
				Title: fmt.Sprintf("%s · %s: %s", s.Label, stepLabel(t, i), formatInt(v))})
			base += v
		}
	}
	for k, s := range ss {
		total := int64(0)
		for _, v := range s.Values {
			total += v
		}
		c.Legend = append(c.Legend, legendItem{Class: seriesClass(k, s.Key), Label: s.Label, Value: formatInt(total)})
	}
	return c
}
