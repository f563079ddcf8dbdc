package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// Priors asks the cloud, over the link, for the population priors of the
// body clock (syncproto.PriorsSubject).
func (c *CloudLink) Priors(ctx context.Context) ([]syncproto.ClockPrior, error) {
	if !c.linked() {
		return nil, errors.New("the link to the cloud is down now")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, syncproto.PriorsSubject(c.creds.FamilyID), []byte("{}"))
	if err != nil {
		return nil, fmt.Errorf("ask the cloud for the body clock's priors: %w", err)
	}
	var r syncproto.PriorsReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return nil, fmt.Errorf("the cloud's answer to a priors request: %w", err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("the cloud sent no priors: %s", r.Error)
	}
	return r.Priors, nil
}
