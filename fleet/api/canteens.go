package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// MaxImport is the largest CSV file POST /api/v1/canteens/import accepts.
const MaxImport = 5 << 20

// importHeader is the CSV import's header, in this order.
var importHeader = []string{"id", "name", "category", "district", "address", "required_areas", "hours"}

// canteenRequest is POST /api/v1/canteens' body: a whole canteen, created
// or replaced. Active defaults to true.
type canteenRequest struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Category      string        `json:"category"`
	District      string        `json:"district"`
	Address       string        `json:"address"`
	Active        *bool         `json:"active"`
	RequiredAreas []string      `json:"required_areas"`
	Hours         coverage.Week `json:"operating_hours"`
	TZ            string        `json:"tz"`
	// Viewing and MaxParentViewers: see PUT …/viewing.
	Viewing          coverage.Week `json:"viewing_windows"`
	MaxParentViewers int           `json:"max_parent_viewers"`
}

func (s *Server) putCanteen(w http.ResponseWriter, r *http.Request) {
	var req canteenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	c := registry.Canteen{ID: req.ID, Name: req.Name, Category: req.Category, District: req.District, Address: req.Address,
		Active: req.Active == nil || *req.Active, RequiredAreas: req.RequiredAreas, Hours: req.Hours, TZ: req.TZ,
		Viewing: req.Viewing, MaxParentViewers: req.MaxParentViewers}
	c, err := s.Registry.PutCanteen(r.Context(), c)
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "put canteen", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// badRow is one refused row of a CSV import; Line counts from 1, the
// header being line 1.
type badRow struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// importCanteens takes a city's canteen list as CSV (importHeader;
// required_areas ';'-separated, empty for the category's defaults; hours
// like "06:00-13:30;16:00-20:00", the same every day) and stores all of it
// or, if any row is bad, none of it: 400 lists every bad row by line.
func (s *Server) importCanteens(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "body must be text/csv")
		return
	}
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", mbe.Limit))
		return
	} else if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
		return
	}
	cs, lines, bad, err := parseCanteenCSV(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(bad) > 0 {
		// List the rows the store would refuse too, so one answer names
		// every bad row.
		for i, c := range cs {
			if _, err := c.Normalize(); err != nil {
				bad = append(bad, badRow{Line: lines[i], Error: err.Error()})
			}
		}
	} else {
		err = s.Registry.ImportCanteens(r.Context(), cs)
		var ie *registry.ImportError
		if errors.As(err, &ie) {
			for _, row := range ie.Rows {
				bad = append(bad, badRow{Line: lines[row.Index], Error: row.Err.Error()})
			}
		} else if err != nil {
			s.internal(w, "import canteens", err)
			return
		}
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b badRow) int { return a.Line - b.Line })
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("%d bad rows; nothing imported", len(bad)),
			"code": "bad_rows", "rows": bad})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": len(cs)})
}

// parseCanteenCSV reads the import file: the canteens and each one's line,
// and the rows that do not parse. err is a file that cannot be read at all
// (no or wrong header, no rows).
func parseCanteenCSV(b []byte) (cs []registry.Canteen, lines []int, bad []badRow, err error) {
	b = bytes.TrimPrefix(b, []byte("\ufeff")) // spreadsheets write a BOM
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = len(importHeader)
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil, errors.New("empty file: want the header " + strings.Join(importHeader, ","))
	}
	if err != nil || !slices.Equal(head, importHeader) {
		return nil, nil, nil, fmt.Errorf("line 1: header must be %s", strings.Join(importHeader, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
			// A quoting error leaves the reader lost; report it and stop.
			bad = append(bad, badRow{Line: pe.Line, Error: pe.Err.Error() + " (rows after it not checked)"})
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			bad = append(bad, badRow{Line: line, Error: fmt.Sprintf("%d fields, want %d", len(rec), len(importHeader))})
			continue
		}
		c := registry.Canteen{ID: rec[0], Name: rec[1], Category: rec[2], District: rec[3], Address: rec[4], Active: true,
			RequiredAreas: splitList(rec[5])}
		if h := splitList(rec[6]); len(h) > 0 {
			c.Hours = coverage.EveryDay(h...)
		}
		cs = append(cs, c)
		lines = append(lines, line)
	}
	if len(cs) == 0 && len(bad) == 0 {
		return nil, nil, nil, errors.New("no canteens after the header")
	}
	return cs, lines, bad, nil
}

// splitList splits a ';'-separated cell, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ";") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
