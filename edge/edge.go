// Package edge is the cloud's edge: the NATS servers where families' hubs
// link in and the cloud's services meet them. It holds the edge's rule,
// with no NATS code: who may log in (a family's hubs, with the secret the
// cloud derives for the family; the cloud's services) and what a family's
// hubs may touch. Package edge/natsedge applies it, in the embedded server
// and in the auth callout of a configured cluster, so that the two cannot
// admit differently.
package edge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// ServiceUser is the user the cloud's own services log in as.
const ServiceUser = "zoner-service"

// FamilySecret derives a family's secret from the cloud's: nothing per
// family is stored, and a family's secret reveals nothing of another's.
func FamilySecret(secret []byte, family uuid.UUID) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("zoner family link\x00"))
	m.Write(family[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Credentials are the credentials of a family's hubs.
func Credentials(secret []byte, family uuid.UUID) syncproto.Credentials {
	return syncproto.Credentials{FamilyID: family, Secret: FamilySecret(secret, family)}
}

// Why a family's login is refused; the reasons are safe to log and to
// tell the server (they hold no secret).
var (
	ErrServiceUser = errors.New("the service user is not a family")
	ErrNotFamily   = errors.New("the user is not a family id")
	ErrWrongSecret = errors.New("wrong secret for the family")
)

// Admit is the one rule for a family's hubs: the user is a family id, not
// the nil uuid, and the password is the family's secret derived from the
// cloud's. The service user is never a family. With a wrong secret it
// still returns the family, for the log.
func Admit(secret []byte, user, password string) (uuid.UUID, error) {
	if user == ServiceUser {
		return uuid.Nil, ErrServiceUser
	}
	family, err := uuid.Parse(user)
	if err != nil || family == uuid.Nil {
		return uuid.Nil, ErrNotFamily
	}
	if !hmac.Equal([]byte(password), []byte(FamilySecret(secret, family))) {
		return family, ErrWrongSecret
	}
	return family, nil
}

// Subjects are the subjects a login may publish to and subscribe to.
type Subjects struct {
	Publish, Subscribe []string
}

// FamilySubjects are what a family's hubs may do, from the hub's side of
// the link: publish its events, ask for them back, ring its other hubs,
// ask for sign-in links and the body clock's priors, and receive replies
// and rings of its own family only.
func FamilySubjects(family uuid.UUID) Subjects {
	return Subjects{
		Publish: []string{
			syncproto.IngestRoot + "." + family.String() + ".>",
			syncproto.FetchSubject(family),
			syncproto.RingSubject(family),
			syncproto.SignInSubject(family),
			syncproto.PriorsSubject(family),
		},
		Subscribe: []string{
			syncproto.ReplyPrefix(family) + ".>",
			syncproto.RingSubject(family),
		},
	}
}
