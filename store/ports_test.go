package store_test

import (
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// The store implements the ports handlers declares.
var (
	_ handlers.RequestStore  = (*store.DB)(nil)
	_ handlers.ApprovalStore = (*store.DB)(nil)
	_ handlers.AuditLog      = (*store.DB)(nil)
	_ handlers.Limiter       = (*store.Limiter)(nil)
	_ evidence.LinkTokens    = (*store.DB)(nil)
)
