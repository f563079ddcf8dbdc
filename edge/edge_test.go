package edge_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/syncproto"
)

var secret = []byte("a unit-test secret of enough bytes")

// TestAdmit is the rule the embedded server and the auth callout apply to
// a family's login.
func TestAdmit(t *testing.T) {
	family := uuid.New()
	good := edge.FamilySecret(secret, family)
	for _, c := range []struct {
		name           string
		user, password string
		want           uuid.UUID
		err            error
	}{
		{"the family with its secret", family.String(), good, family, nil},
		{"the family id in capitals", strings.ToUpper(family.String()), good, family, nil},
		{"a wrong secret", family.String(), edge.FamilySecret([]byte("another secret of enough bytes"), family), family, edge.ErrWrongSecret},
		{"another family's secret", family.String(), edge.FamilySecret(secret, uuid.New()), family, edge.ErrWrongSecret},
		{"no password", family.String(), "", family, edge.ErrWrongSecret},
		{"the secret with a byte more", family.String(), good + "A", family, edge.ErrWrongSecret},
		{"not a uuid", "a-family", good, uuid.Nil, edge.ErrNotFamily},
		{"no user", "", good, uuid.Nil, edge.ErrNotFamily},
		{"the nil uuid, with its derived secret", uuid.Nil.String(), edge.FamilySecret(secret, uuid.Nil), uuid.Nil, edge.ErrNotFamily},
		{"the service user", edge.ServiceUser, good, uuid.Nil, edge.ErrServiceUser},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := edge.Admit(secret, c.user, c.password)
			if got != c.want || !errors.Is(err, c.err) {
				t.Fatalf("Admit = %s, %v; want %s, %v", got, err, c.want, c.err)
			}
		})
	}
}

// TestFamilySecret: each family's secret is its own, and depends on the
// cloud's.
func TestFamilySecret(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	if again := edge.FamilySecret(slices.Clone(secret), a); again != edge.FamilySecret(secret, a) {
		t.Fatal("not deterministic")
	}
	if edge.FamilySecret(secret, a) == edge.FamilySecret(secret, b) {
		t.Fatal("two families share a secret")
	}
	if edge.FamilySecret(secret, a) == edge.FamilySecret([]byte("another secret of enough bytes"), a) {
		t.Fatal("the secret does not depend on the cloud's")
	}
	if c := edge.Credentials(secret, a); c.FamilyID != a || c.Secret != edge.FamilySecret(secret, a) {
		t.Fatalf("credentials %+v", c)
	}
}

// TestFamilySubjects: a family's hubs touch only the family's subjects.
func TestFamilySubjects(t *testing.T) {
	family := uuid.New()
	s := edge.FamilySubjects(family)
	for _, subjects := range [][]string{s.Publish, s.Subscribe} {
		for _, subject := range subjects {
			if !strings.Contains(subject, "."+family.String()) {
				t.Errorf("%s is not the family's", subject)
			}
		}
	}
	if !slices.Contains(s.Publish, syncproto.IngestRoot+"."+family.String()+".>") || !slices.Contains(s.Publish, syncproto.FetchSubject(family)) ||
		!slices.Contains(s.Subscribe, syncproto.ReplyPrefix(family)+".>") || !slices.Contains(s.Subscribe, syncproto.RingSubject(family)) {
		t.Fatalf("subjects %+v lack the link's", s)
	}
}
