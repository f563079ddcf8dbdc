package main

import (
	"errors"
	"io"

	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/hub/importer"
)

// sleepImporter is hub/importer as the HTTP API's SleepImporter.
type sleepImporter struct{}

func (sleepImporter) ImportAt(r io.ReaderAt, size int64, o hubhttp.ImportOptions) (*hubhttp.ImportResult, error) {
	return imported(importer.Import(r, size, importOptions(o)))
}

func (sleepImporter) ImportStream(r io.Reader, o hubhttp.ImportOptions) (*hubhttp.ImportResult, error) {
	return imported(importer.ImportReader(r, importOptions(o)))
}

func importOptions(o hubhttp.ImportOptions) importer.Options {
	return importer.Options{FamilyID: o.FamilyID, MemberID: o.MemberID, TZ: o.TZ, Format: importer.Format(o.Format)}
}

func imported(res *importer.Result, err error) (*hubhttp.ImportResult, error) {
	if err != nil {
		if ie, ok := errors.AsType[*importer.Error](err); ok {
			return nil, &hubhttp.ImportError{Format: string(ie.Format), Where: ie.Where, Err: ie.Err}
		}
		return nil, err
	}
	return &hubhttp.ImportResult{Format: string(res.Format), Events: res.Events,
		Nights: res.Nights, Naps: res.Naps, Light: res.Light, Skipped: res.Skipped}, nil
}
