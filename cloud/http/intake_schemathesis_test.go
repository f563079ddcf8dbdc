//go:build integration

package http

import (
	"context"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// PostEvents takes every event (Schemathesis's admin token never gets
// this far: an admin may not write a family's events).
func (b everyFamily) PostEvents(_ context.Context, _ uuid.UUID, _ cloud.Author, raws [][]byte) ([]cloud.Posted, error) {
	out := make([]cloud.Posted, len(raws))
	for i := range out {
		out[i] = cloud.Posted{ID: uuid.New(), Type: "sleep", HLC: "0000019b3d2e1a00-0000"}
	}
	return out, nil
}

// Subscribe serves a stream that ends at once, after its hello.
func (b everyFamily) Subscribe(context.Context, uuid.UUID) (<-chan cloud.Notice, func(), error) {
	ch := make(chan cloud.Notice)
	close(ch)
	return ch, func() {}, nil
}
