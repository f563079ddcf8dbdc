package importer

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// appleTime is the layout of startDate and endDate in export.xml.
const appleTime = "2006-01-02 15:04:05 -0700"

// mergeGap is the longest break (an awake stage, a gap between two
// sources' records) inside one sleep: asleep stages closer than this are
// one sleep.
const mergeGap = time.Hour

const (
	appleSleep    = "HKCategoryTypeIdentifierSleepAnalysis"
	appleDaylight = "HKQuantityTypeIdentifierTimeInDaylight"
)

// appleAsleep are the sleep-analysis values that mean asleep. InBed and
// Awake are not sleep.
var appleAsleep = map[string]bool{
	"HKCategoryValueSleepAnalysisAsleep":            true, // before iOS 16
	"HKCategoryValueSleepAnalysisAsleepUnspecified": true,
	"HKCategoryValueSleepAnalysisAsleepCore":        true,
	"HKCategoryValueSleepAnalysisAsleepDeep":        true,
	"HKCategoryValueSleepAnalysisAsleepREM":         true,
}

var appleNotAsleep = map[string]bool{
	"HKCategoryValueSleepAnalysisInBed": true,
	"HKCategoryValueSleepAnalysisAwake": true,
}

// openAppleZip finds export.xml in an Apple Health export.zip.
func openAppleZip(r io.ReaderAt, size int64) (io.Reader, func() error, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("not a readable zip: %w", err)
	}
	for _, f := range zr.File {
		if strings.EqualFold(path.Base(f.Name), "export.xml") {
			rc, err := f.Open()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			return rc, rc.Close, nil
		}
	}
	return nil, nil, errors.New("the zip holds no apple_health_export/export.xml")
}

// segment is one asleep stage, kept until the file is read to merge them.
type segment struct {
	start, end time.Time
	line       int
}

// readApple streams export.xml token by token, keeping only asleep stages
// (to merge) and turning daylight samples into events as they come.
func readApple(r io.Reader, b *builder) error {
	dec := xml.NewDecoder(r)
	var segs []segment
	sawHealthData := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		line, _ := dec.InputPos()
		if err != nil {
			return &Error{Where: fmt.Sprintf("line %d", line), Err: fmt.Errorf("not well-formed XML: %w", err)}
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "HealthData":
			sawHealthData = true
			continue
		case "Record":
		default:
			continue
		}
		where := fmt.Sprintf("line %d", line)
		var typ, value, start, end, source, unit string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "type":
				typ = a.Value
			case "value":
				value = a.Value
			case "startDate":
				start = a.Value
			case "endDate":
				end = a.Value
			case "sourceName":
				source = a.Value
			case "unit":
				unit = a.Value
			}
		}
		switch typ {
		case appleSleep:
			if appleNotAsleep[value] {
				b.res.Skipped++
				continue
			}
			if !appleAsleep[value] {
				return &Error{Where: where, Err: fmt.Errorf("sleep analysis value %q is not one Apple documents", value)}
			}
			s, e, err := appleInterval(start, end)
			if err != nil {
				return &Error{Where: where, Err: err}
			}
			if len(segs) >= maxSegments {
				return &Error{Where: where, Err: fmt.Errorf("more than %d sleep stages in one file", maxSegments)}
			}
			segs = append(segs, segment{s, e, line})
		case appleDaylight:
			s, e, err := appleInterval(start, end)
			if err != nil {
				return &Error{Where: where, Err: err}
			}
			if unit != "" && unit != "min" {
				return &Error{Where: where, Err: fmt.Errorf("time in daylight in %q, not min", unit)}
			}
			mins, err := strconv.ParseFloat(value, 64)
			if err != nil || mins < 0 {
				return &Error{Where: where, Err: fmt.Errorf("time in daylight %q is not a number of minutes", value)}
			}
			if mins == 0 {
				b.res.Skipped++
				continue
			}
			// The sample covers start..end; the person was in daylight
			// for value minutes of it.
			lit := s.Add(time.Duration(mins * float64(time.Minute)))
			if lit.After(e) {
				lit = e
			}
			key := s.UTC().Format(time.RFC3339) + "/" + e.UTC().Format(time.RFC3339) + "/" + source
			if err := b.light(where, key, s, lit); err != nil {
				return err
			}
		default:
			b.res.Skipped++
		}
	}
	if !sawHealthData {
		return errors.New("no <HealthData> element: not an Apple Health export.xml")
	}
	return mergeSleeps(segs, b)
}

func appleInterval(start, end string) (time.Time, time.Time, error) {
	s, err := time.Parse(appleTime, start)
	if err != nil {
		return s, s, fmt.Errorf("startDate %q is not like 2024-01-02 23:10:00 -0800", start)
	}
	e, err := time.Parse(appleTime, end)
	if err != nil {
		return s, e, fmt.Errorf("endDate %q is not like 2024-01-02 23:10:00 -0800", end)
	}
	if !e.After(s) {
		return s, e, fmt.Errorf("endDate %s is not after startDate %s", end, start)
	}
	return s, e, nil
}

// mergeSleeps joins asleep stages (of any source) less than mergeGap apart
// into one sleep each. A sleep of at most 4 h whose middle falls between
// 09:00 and 20:00 local time is a nap.
func mergeSleeps(segs []segment, b *builder) error {
	slices.SortFunc(segs, func(x, y segment) int { return x.start.Compare(y.start) })
	for i := 0; i < len(segs); {
		cur := segs[i]
		j := i + 1
		for ; j < len(segs) && segs[j].start.Sub(cur.end) < mergeGap; j++ {
			if segs[j].end.After(cur.end) {
				cur.end = segs[j].end
			}
		}
		where := fmt.Sprintf("the sleep from line %d", cur.line)
		// Keep the offset the export wrote for the first stage on both ends.
		end := cur.end.In(cur.start.Location())
		key := cur.start.UTC().Format(time.RFC3339) + "/" + cur.end.UTC().Format(time.RFC3339)
		if err := b.sleep(where, key, cur.start, end, isNap(cur.start, end)); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func isNap(start, end time.Time) bool {
	d := end.Sub(start)
	mid := start.Add(d / 2)
	h := mid.Hour()
	return d <= 4*time.Hour && h >= 9 && h < 20
}
