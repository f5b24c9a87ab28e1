package handlers

import (
	"testing"

	"github.com/mdebot/mdebot/internal/depstest"
)

// The use cases must not link MSAL Go (or any transport or driver): their
// view of identity is package account. The go tool lists what links.
func TestDependenciesStayOut(t *testing.T) {
	depstest.NotLinked(t,
		"github.com/AzureAD/microsoft-authentication-library-for-go",
		"github.com/slack-go/slack",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
		"github.com/riverqueue/river",
	)
}
