package rules

import "math"

// Box is a normalised rectangle: X, Y the top-left corner, W, H the size,
// each in 0..1 of the picture's width or height.
type Box struct{ X, Y, W, H float64 }

// BottomCentre is the middle of the box's lower edge: where a person's
// feet, or a bin's base, stand.
func (b Box) BottomCentre() (x, y float64) { return b.X + b.W/2, b.Y + b.H }

type point struct{ x, y float64 }

// polygon is a zone; nil means the whole picture.
type polygon []point

func newPolygon(zone [][]float64) polygon {
	if len(zone) == 0 {
		return nil
	}
	p := make(polygon, 0, len(zone))
	for _, pt := range zone {
		if len(pt) == 2 {
			p = append(p, point{pt[0], pt[1]})
		}
	}
	return p
}

// onEdgeEps is how close to an edge a point counts as on it.
const onEdgeEps = 1e-9

// contains reports whether (x, y) is inside the polygon or on its edge
// (even-odd rule, so self-intersecting zones behave predictably).
func (p polygon) contains(x, y float64) bool {
	if p == nil {
		return true
	}
	if len(p) < 3 {
		return false
	}
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		a, b := p[j], p[i]
		if onSegment(a, b, x, y) {
			return true
		}
		if (a.y > y) != (b.y > y) && x < (b.x-a.x)*(y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
	}
	return in
}

func onSegment(a, b point, x, y float64) bool {
	cross := (b.x-a.x)*(y-a.y) - (b.y-a.y)*(x-a.x)
	if math.Abs(cross) > onEdgeEps {
		return false
	}
	return x >= math.Min(a.x, b.x)-onEdgeEps && x <= math.Max(a.x, b.x)+onEdgeEps &&
		y >= math.Min(a.y, b.y)-onEdgeEps && y <= math.Max(a.y, b.y)+onEdgeEps
}

// bounds is the polygon's bounding box; the whole picture for no zone.
func (p polygon) bounds() Box {
	if len(p) == 0 {
		return Box{0, 0, 1, 1}
	}
	x0, y0, x1, y1 := p[0].x, p[0].y, p[0].x, p[0].y
	for _, q := range p[1:] {
		x0, y0 = math.Min(x0, q.x), math.Min(y0, q.y)
		x1, y1 = math.Max(x1, q.x), math.Max(y1, q.y)
	}
	return Box{x0, y0, x1 - x0, y1 - y0}
}
