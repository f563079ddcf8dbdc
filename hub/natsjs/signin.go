package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// SignIn asks the cloud, over the link, for a single-use sign-in link for
// the family.
func (c *CloudLink) SignIn(ctx context.Context, req syncproto.SignInRequest) (syncproto.SignInReply, error) {
	if !c.linked() {
		return syncproto.SignInReply{}, errors.New("the link to the cloud is down now")
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, syncproto.SignInSubject(c.creds.FamilyID), body)
	if err != nil {
		return syncproto.SignInReply{}, fmt.Errorf("ask the cloud for a sign-in link: %w", err)
	}
	var r syncproto.SignInReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return syncproto.SignInReply{}, fmt.Errorf("the cloud's answer to a sign-in request: %w", err)
	}
	if r.Error != "" {
		return r, fmt.Errorf("the cloud made no sign-in link: %s", r.Error)
	}
	return r, nil
}
