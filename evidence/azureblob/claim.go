package azureblob

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/mdebot/mdebot/evidence"
)

const (
	claimSuffix = ".put-lock"
	// claimLease is the claim's lease, renewed while the Put runs: after a
	// crash the id is free again this long later (60 s is Azure's longest
	// finite lease).
	claimLease = 60 * time.Second
)

// claim takes a lease on the blob <id>.put-lock, so that of several Puts of
// one id (several replicas, a retried job) one at a time writes it; the
// others get ErrBusy. The returned context ends if the lease cannot be
// renewed, stopping the upload before another Put could start; unclaim
// releases the lease and deletes the blob.
func (s *Store) claim(ctx context.Context, id string) (unclaim func(), _ context.Context, err error) {
	bb := s.cont.NewBlockBlobClient(id + claimSuffix)
	// Writing a leased blob without its lease fails: someone holds the claim.
	if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), nil); err != nil {
		if bloberror.HasCode(err, bloberror.LeaseIDMissing) {
			return nil, nil, fmt.Errorf("%w (request %s)", evidence.ErrBusy, id)
		}
		return nil, nil, fmt.Errorf("evidence: store %s: claim: %w", id, err)
	}
	lc, err := lease.NewBlobClient(bb, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: store %s: claim: %w", id, err)
	}
	if _, err := lc.AcquireLease(ctx, int32(claimLease/time.Second), nil); err != nil {
		if bloberror.HasCode(err, bloberror.LeaseAlreadyPresent) {
			return nil, nil, fmt.Errorf("%w (request %s)", evidence.ErrBusy, id)
		}
		return nil, nil, fmt.Errorf("evidence: store %s: claim: %w", id, err)
	}
	held, lost := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(claimLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := lc.RenewLease(held, nil); err != nil {
					lost(fmt.Errorf("evidence: store %s: lost the claim: %w", id, err))
					return
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		lost(nil)
		_, _ = bb.Delete(context.WithoutCancel(ctx), &blob.DeleteOptions{
			AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}})
	}, held, nil
}
