//go:build integration

package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/zoner-family/zoner/internal/proctest"
)

// realEnv is the broker of KAFKA_BROKERS, set by the task that starts it,
// with event and dead-letter topics of this test only (created by the code
// under test, deleted at the end, with the test's groups). The broker is
// shared with other tests.
func realEnv(tb testing.TB) testEnv {
	tb.Helper()
	brokers := strings.Split(proctest.Service(tb, "KAFKA_BROKERS"), ",")
	suffix := "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	e := testEnv{brokers: brokers, dead: DefaultDeadLetterTopic + suffix}
	for _, t := range DefaultTopics() {
		e.topics = append(e.topics, t+suffix)
	}
	adm := kadm.NewClient(mustClient(tb, brokers))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.DeleteTopics(ctx, append(e.topics, e.dead)...); err != nil {
			tb.Logf("delete topics: %v", err)
		}
	})
	return e
}

func TestIntegrationPollCommit(t *testing.T)    { testPollCommit(t, realEnv(t)) }
func TestIntegrationRedelivery(t *testing.T)    { testRedelivery(t, realEnv(t)) }
func TestIntegrationTwoMembers(t *testing.T)    { testTwoMembers(t, realEnv(t)) }
func TestIntegrationHoldsBatch(t *testing.T)    { testHoldsBatch(t, realEnv(t)) }
func TestIntegrationHeldTooLong(t *testing.T)   { testHeldTooLong(t, realEnv(t)) }
func TestIntegrationDeadLetter(t *testing.T)    { testDeadLetter(t, realEnv(t)) }
func TestIntegrationLag(t *testing.T)           { testLag(t, realEnv(t)) }
func TestIntegrationClose(t *testing.T)         { testClose(t, realEnv(t)) }
func TestIntegrationPollContext(t *testing.T)   { testPollContext(t, realEnv(t)) }
func TestIntegrationStartAtEnd(t *testing.T)    { testStartAtEnd(t, realEnv(t)) }
func TestIntegrationDeadLetterCtx(t *testing.T) { testDeadLetterCtx(t, realEnv(t)) }
