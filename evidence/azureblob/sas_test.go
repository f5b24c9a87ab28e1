package azureblob_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/evidence/azureblob"
)

// entraToken is a TokenCredential handing out one fixed token, as a managed
// identity would; it notes the scopes it was asked for.
type entraToken struct {
	mu     sync.Mutex
	scopes []string
}

func (e *entraToken) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	e.mu.Lock()
	e.scopes = append(e.scopes, o.Scopes...)
	e.mu.Unlock()
	return azcore.AccessToken{Token: "fake-entra-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// keyInfo is the body of Get User Delegation Key.
type keyInfo struct {
	Start  string `xml:"Start"`
	Expiry string `xml:"Expiry"`
}

// Azurite cannot verify a user-delegation SAS, so this checks what can be
// checked without Azure: with Entra credentials (no account key) Link asks
// the Blob service for a user delegation key as the bot's identity (bearer
// token, key valid for the link's lifetime) and returns a read-only,
// https-only blob SAS built on that key, expiring with the link and naming
// the download. A fake Blob endpoint on loopback TLS answers the few calls
// Link makes, as the Blob REST API documents them. Whether Azure accepts
// the signature is not tested here.
func TestUserDelegationLink(t *testing.T) {
	ctx := context.Background()
	custody, _ := json.Marshal(evidence.Custody{Version: 1, RequestID: "ab12", MachineName: "ws-1", Size: 3,
		SHA256: strings.Repeat("0", 64), ReceivedAt: time.Now(), Accesses: []evidence.Access{}})
	var mu sync.Mutex
	var keyReq keyInfo
	var custodyPut []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fake-entra-token" {
			w.Header().Set("x-ms-error-code", "NoAuthenticationInformation")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/acct/cont" && q.Get("restype") == "container":
			w.Header().Set("ETag", `"0x1"`)
		case r.Method == http.MethodGet && r.URL.Path == "/acct/cont/ab12.custody.json":
			w.Header().Set("ETag", `"c1"`)
			w.Header().Set("Content-Length", fmt.Sprint(len(custody)))
			w.Write(custody)
		case r.Method == http.MethodHead && r.URL.Path == "/acct/cont/ab12.package":
			w.Header().Set("ETag", `"p1"`)
			w.Header().Set("Content-Length", "3")
		case r.Method == http.MethodPost && q.Get("restype") == "service" && q.Get("comp") == "userdelegationkey":
			if err := xml.NewDecoder(r.Body).Decode(&keyReq); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>11111111-0000-0000-0000-000000000001</SignedOid>`+
				`<SignedTid>22222222-0000-0000-0000-000000000002</SignedTid><SignedStart>%s</SignedStart><SignedExpiry>%s</SignedExpiry>`+
				`<SignedService>b</SignedService><SignedVersion>2025-07-05</SignedVersion><Value>c2VjcmV0LWRlbGVnYXRpb24ta2V5LTMyLWJ5dGVzLSE=</Value></UserDelegationKey>`,
				keyReq.Start, keyReq.Expiry)
		case r.Method == http.MethodPut && r.URL.Path == "/acct/cont/ab12.custody.json" && r.Header.Get("If-Match") == `"c1"`:
			custodyPut, _ = io.ReadAll(r.Body)
			w.Header().Set("ETag", `"c2"`)
			w.WriteHeader(http.StatusCreated)
		default:
			w.Header().Set("x-ms-error-code", "BlobNotFound")
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	cred := &entraToken{}
	s, err := azureblob.New(ctx, azureblob.Options{AccountURL: srv.URL + "/acct", Container: "cont", Credential: cred, Transport: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	l, err := s.Link(ctx, "ab12", 10*time.Minute, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	se, err := time.Parse(time.RFC3339, q.Get("se"))
	if err != nil || se.Before(before.Add(10*time.Minute-time.Second)) || se.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("se=%q (%v): want the link's expiry, 10 minutes from now", q.Get("se"), err)
	}
	want := map[string]string{
		"sp": "r", "sr": "b", "spr": "https", "sks": "b",
		"skoid": "11111111-0000-0000-0000-000000000001", "sktid": "22222222-0000-0000-0000-000000000002",
		"skt": keyReq.Start, "ske": keyReq.Expiry,
		"rscd": `attachment; filename="investigation-package-ws-1-ab12.zip"`, "rsct": "application/zip",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("SAS %s=%q, want %q", k, q.Get(k), v)
		}
	}
	if q.Get("sig") == "" || u.Path != "/acct/cont/ab12.package" {
		t.Errorf("SAS URL %s: want a signature on the package blob", l)
	}
	if keyReq.Expiry != q.Get("se") {
		t.Errorf("delegation key expires %s, the link %s: the key should live exactly as long", keyReq.Expiry, q.Get("se"))
	}
	if strings.Contains(l.String(), q.Get("sig")) {
		t.Errorf("Link.String() shows the signature: %s", l)
	}
	var rec evidence.Custody
	if err := json.Unmarshal(custodyPut, &rec); err != nil || len(rec.Accesses) != 1 || rec.Accesses[0].Kind != evidence.AccessLinkIssued || rec.Accesses[0].Actor != "U0ALICE" {
		t.Errorf("custody written back: %s (%v)", custodyPut, err)
	}
	if strings.Contains(string(custodyPut), q.Get("sig")) {
		t.Error("the custody record holds the SAS signature")
	}
	if len(cred.scopes) == 0 || cred.scopes[0] != "https://storage.azure.com/.default" {
		t.Errorf("token scopes %v, want Azure Storage's", cred.scopes)
	}
}
