package rules

import "time"

// HeadFraction is the top part of a person's box where head attributes
// (a chef's hat, a mask) are looked for.
const HeadFraction = 0.3

// minInside is the least fraction of an attribute's box (or a "person
// without X" box) inside a person's region for it to belong to that person.
const minInside = 0.5

// role is what one detection stands for in one frame.
type role struct {
	kind      string // RolePerson, RoleAttribute or RoleObject
	region    string // for attributes: RegionHead, RegionBody or RegionHands
	means     string // for attributes: the attribute, e.g. chef_hat
	violation string // a "person without X" class: the violation type
}

// defaultRegion is where an attribute is worn.
func defaultRegion(means string) string {
	switch means {
	case "chef_hat", "hat", "mask":
		return RegionHead
	case "gloves":
		return RegionHands
	}
	return RegionBody
}

// roleOf resolves d's role: the camera's label map for d's plugin first,
// then d's attrs (role, region, violation), then the default: "person" is
// a person, anything else an object.
func (e *Engine) roleOf(d *Detection) role {
	var r role
	if lr, ok := e.labelRoles[d.Plugin][d.Label]; ok {
		r = role{kind: lr.Role, region: lr.Region, means: lr.Means, violation: lr.Violation}
	} else {
		r = role{kind: d.Attrs["role"], region: d.Attrs["region"], violation: d.Attrs["violation"]}
	}
	switch r.kind {
	case RolePerson, RoleAttribute, RoleObject:
	default:
		r.kind = RoleObject
		if d.Label == "person" {
			r.kind = RolePerson
		}
	}
	if r.violation != "" && attributeOf[r.violation] == "" && !withPerson[r.violation] {
		r.violation = "" // not a violation of a person: ignored
	}
	if r.kind == RoleAttribute {
		if r.means == "" {
			r.means = d.Label
		}
		switch r.region {
		case RegionHead, RegionBody, RegionHands:
		default:
			r.region = defaultRegion(r.means)
		}
	}
	return r
}

// regionOf is the part of person box p where an attribute of region is
// looked for.
func regionOf(p Box, region string) Box {
	if region == RegionHead {
		p.H *= HeadFraction
	}
	return p
}

// frame is one observed frame, prepared for the rules: the detections with
// their roles, who the people are, which person each of the other
// detections belongs to, and the people's tracks.
type frame struct {
	dets  []Detection
	roles []role
	// people are the indexes of the person detections at or above the
	// tracker's score.
	people []int
	// owner is, for each detection, the plain person (a person without a
	// violation of its own) whose box holds at least minInside of it, the
	// best one; -1 for none, and for plain people themselves.
	owner []int
	// track is each subject's track id: plain people, and "person without
	// X" detections that belong to nobody.
	track []string
	// wears are the attributes each plain person owns, by person index.
	wears map[int][]int
}

// prepare resolves roles, owners and tracks for the kept detections of a
// frame seen at at.
func (e *Engine) prepare(at time.Time, dets []Detection) *frame {
	f := &frame{dets: dets, roles: make([]role, len(dets)), owner: make([]int, len(dets)), track: make([]string, len(dets))}
	var plain []int
	for i := range dets {
		f.roles[i] = e.roleOf(&dets[i])
		f.owner[i] = -1
		r := f.roles[i]
		if r.kind == RoleAttribute {
			e.declared[r.means] = true // a model that returns it can see it
		}
		if r.kind == RolePerson && dets[i].Score >= e.tracking.MinScore {
			f.people = append(f.people, i)
			if r.violation == "" {
				plain = append(plain, i)
			}
		}
	}
	for i := range dets {
		if f.roles[i].kind == RolePerson && f.roles[i].violation == "" {
			continue
		}
		best, bestIn := -1, 0.0
		for _, p := range plain {
			reg := dets[p].Box
			if f.roles[i].kind == RoleAttribute {
				reg = regionOf(reg, f.roles[i].region)
			}
			if in := inside(dets[i].Box, reg); in >= minInside && in > bestIn {
				best, bestIn = p, in
			}
		}
		f.owner[i] = best
		if best >= 0 && f.roles[i].kind == RoleAttribute {
			if f.wears == nil {
				f.wears = make(map[int][]int)
			}
			f.wears[best] = append(f.wears[best], i)
		}
	}
	// subjects: plain people, and violations of a person that belong to
	// no plain person (a model with "person without a hat" boxes only)
	var subj []int
	var boxes []Box
	for i := range dets {
		isSubject := f.owner[i] < 0 && (f.roles[i].kind == RolePerson && dets[i].Score >= e.tracking.MinScore ||
			f.roles[i].violation != "" || e.directLabels[dets[i].Label])
		if !isSubject {
			continue
		}
		if id := dets[i].TrackID; id != "" {
			f.track[i] = "p:" + dets[i].Plugin + ":" + id // the plugin tracks
			continue
		}
		subj = append(subj, i)
		boxes = append(boxes, dets[i].Box)
	}
	for k, id := range e.tracker.update(at, boxes) {
		f.track[subj[k]] = id
	}
	return f
}

// subject is the detection a hit on detection i is about (its owner, or
// itself), and that subject's track.
func (f *frame) subject(i int) (int, string) {
	if o := f.owner[i]; o >= 0 {
		return o, f.track[o]
	}
	return i, f.track[i]
}

// hasAttribute reports whether person p wears attribute means, seen at
// score or above, inside its region.
func (f *frame) hasAttribute(p int, means string, score float64) bool {
	for _, i := range f.wears[p] {
		if f.roles[i].means == means && f.dets[i].Score >= score {
			return true
		}
	}
	return false
}

// holder is the plain person whose box holds at least minFrac of box b,
// the best one, or -1.
func (f *frame) holder(b Box, minFrac float64) int {
	best, bestIn := -1, 0.0
	for _, p := range f.people {
		if f.roles[p].violation != "" {
			continue
		}
		if in := inside(b, f.dets[p].Box); in >= minFrac && in > bestIn {
			best, bestIn = p, in
		}
	}
	return best
}
