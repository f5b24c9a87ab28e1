package azureblob

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/mdebot/mdebot/evidence"
)

// clockSkew back-dates a SAS's start so that a service clock a little behind
// ours accepts it at once.
const clockSkew = 5 * time.Minute

// Link issues a read-only SAS URL for the package blob, valid for ttl, that
// makes the browser save it as DownloadName: a service SAS signed with the
// account key, or, with Entra credentials, a user-delegation SAS signed with
// a delegation key fetched for this link (Storage Blob Delegator role).
func (s *Store) Link(ctx context.Context, id string, ttl time.Duration, actor string) (evidence.Link, error) {
	if err := evidence.ValidID(id); err != nil {
		return evidence.Link{}, err
	}
	if ttl <= 0 {
		return evidence.Link{}, fmt.Errorf("evidence: link for %s: ttl must be positive, got %s", id, ttl)
	}
	c, err := s.Custody(ctx, id)
	if err != nil {
		return evidence.Link{}, err
	}
	if c.Purged() {
		return evidence.Link{}, &evidence.PurgedError{ID: id, At: c.PurgedAt}
	}
	pb := s.packageBlob(id)
	if _, err := pb.GetProperties(ctx, nil); bloberror.HasCode(err, bloberror.BlobNotFound) {
		return evidence.Link{}, fmt.Errorf("%w (request %s)", evidence.ErrMissing, id)
	} else if err != nil {
		return evidence.Link{}, fmt.Errorf("evidence: link for %s: %w", id, err)
	}
	issued := s.now()
	expires := issued.Add(ttl)
	v := s.sasValues(id, evidence.DownloadName(c), issued.Add(-clockSkew), expires)
	var qp sas.QueryParameters
	if s.key != nil {
		qp, err = v.SignWithSharedKey(s.key)
	} else {
		var udc *service.UserDelegationCredential
		udc, err = s.svc.GetUserDelegationCredential(ctx, service.KeyInfo{
			Start: to.Ptr(v.StartTime.Format(sas.TimeFormat)), Expiry: to.Ptr(expires.Format(sas.TimeFormat))}, nil)
		if err != nil {
			return evidence.Link{}, fmt.Errorf("evidence: link for %s: user delegation key: %w", id, err)
		}
		qp, err = v.SignWithUserDelegation(udc)
	}
	if err != nil {
		return evidence.Link{}, fmt.Errorf("evidence: link for %s: sign: %w", id, err)
	}
	if err := s.Record(ctx, id, evidence.LinkIssued(actor, issued, expires)); err != nil {
		return evidence.Link{}, err
	}
	return evidence.Link{URL: pb.URL() + "?" + qp.Encode(), ExpiresAt: expires}, nil
}

// sasValues are a read-only SAS on one package blob, with the response
// headers Azure sends for it (attachment, file name, content type).
func (s *Store) sasValues(id, name string, start, expiry time.Time) sas.BlobSignatureValues {
	protocol := sas.ProtocolHTTPS
	if !s.https {
		protocol = sas.ProtocolHTTPSandHTTP // loopback emulator only
	}
	return sas.BlobSignatureValues{
		Protocol:           protocol,
		StartTime:          start.UTC(),
		ExpiryTime:         expiry.UTC(),
		Permissions:        to.Ptr(sas.BlobPermissions{Read: true}).String(),
		ContainerName:      s.name,
		BlobName:           id + evidence.PackageSuffix,
		ContentDisposition: `attachment; filename="` + name + `"`,
		ContentType:        evidence.ContentType(name),
	}
}
