package importer

import (
	"slices"
	"strings"

	"github.com/zoner-family/zoner/syncproto"
)

func sortEvents(es []syncproto.Envelope) {
	slices.SortFunc(es, func(a, b syncproto.Envelope) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
}
