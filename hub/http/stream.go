package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Heartbeat is how often an idle event stream gets a comment line, so
// proxies and phones keep it open.
var heartbeat = 15 * time.Second

// getStream sends notices as Server-Sent Events: "plan", "plans_removed"
// and "events", each with a JSON notice. A client that falls behind is
// disconnected; EventSource reconnects and the client reads afresh.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	ch, cancel := s.Broker.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 3000\nevent: hello\ndata: {\"applied_seq\":%d}\n\n", s.Projector.Applied())
	if err := rc.Flush(); err != nil {
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case n, ok := <-ch:
			if !ok {
				return nil
			}
			b, _ := json.Marshal(n)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", n.Kind, b)
		case <-tick.C:
			fmt.Fprint(w, ": ping\n\n")
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
