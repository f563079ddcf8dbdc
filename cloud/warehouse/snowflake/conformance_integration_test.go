//go:build integration

package snowflake

import (
	"testing"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/warehouse/warehousetest"
)

// TestConformance runs the suite every cloud.Warehouse passes, each of its
// subtests on a fresh, migrated schema of its own.
func TestConformance(t *testing.T) {
	warehousetest.Run(t, func(t *testing.T) cloud.Warehouse {
		return MustOpen(t)
	})
}
