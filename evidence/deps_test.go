package evidence_test

import (
	"testing"

	"github.com/mdebot/mdebot/internal/depstest"
)

// The use cases import evidence, so it must not link the Azure SDK (nor,
// through azidentity, MSAL Go): azure_blob lives in evidence/azureblob.
func TestDependenciesStayOut(t *testing.T) {
	depstest.NotLinked(t,
		"github.com/Azure/azure-sdk-for-go",
		"github.com/Azure/azure-sdk-for-go/sdk/azidentity",
		"github.com/AzureAD/microsoft-authentication-library-for-go",
		"github.com/mdebot/mdebot/evidence/azureblob",
	)
}
