// Package azureblob is the azure_blob evidence store: packages and their
// custody records in an Azure Blob Storage container. It is apart from
// package evidence because it links the Azure SDK (and, through azidentity,
// MSAL Go), which the use cases that import evidence must not.
package azureblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/mdebot/mdebot/evidence"
)

// Options configure an azure_blob store (app builds them from evidence.azure.*).
type Options struct {
	// AccountURL is the blob endpoint, https://ACCOUNT.blob.core.windows.net
	// (or http://127.0.0.1:PORT/ACCOUNT for Azurite).
	AccountURL string
	Container  string
	// AccountKey (base64) authenticates with Shared Key and signs service SAS
	// links. Empty: Credential, and links are user-delegation SAS.
	AccountKey string
	// Credential is used without an account key; nil means
	// DefaultAzureCredential (managed identity, workload identity, ...).
	Credential azcore.TokenCredential
	// Transport replaces the HTTP client (tests).
	Transport policy.Transporter
	// BlockSize and Concurrency bound an upload's memory at about their
	// product (defaults 1 MiB and 4).
	BlockSize   int64
	Concurrency int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is an evidence.Store that keeps packages as block blobs
// <id>.package, with their SHA-256 in the blob's metadata, and custody
// records as blobs <id>.custody.json, changed by read-modify-write under
// ETag conditions (retried on conflict).
type Store struct {
	svc   *service.Client
	cont  *container.Client
	name  string                       // the container
	key   *service.SharedKeyCredential // nil with Entra credentials
	https bool
	clock func() time.Time
	block int64
	conc  int
}

var _ evidence.Store = (*Store)(nil)

// New connects and creates the container when it does not exist.
func New(ctx context.Context, o Options) (*Store, error) {
	u, err := url.Parse(o.AccountURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("evidence: azure_blob: account URL %q is not an http(s) URL", o.AccountURL)
	}
	if o.Container == "" {
		return nil, errors.New("evidence: azure_blob: no container")
	}
	s := &Store{name: o.Container, https: u.Scheme == "https", clock: o.Now, block: o.BlockSize, conc: o.Concurrency}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.block <= 0 {
		s.block = 1 << 20
	}
	if s.conc <= 0 {
		s.conc = 4
	}
	copts := &service.ClientOptions{}
	copts.Transport = o.Transport
	// Plain http reaches only a loopback emulator (config refuses other hosts).
	copts.InsecureAllowCredentialWithHTTP = !s.https
	if o.AccountKey != "" {
		name, err := accountName(u)
		if err != nil {
			return nil, err
		}
		if s.key, err = service.NewSharedKeyCredential(name, o.AccountKey); err != nil {
			return nil, fmt.Errorf("evidence: azure_blob: account key: %w", err)
		}
		s.svc, err = service.NewClientWithSharedKeyCredential(o.AccountURL, s.key, copts)
		if err != nil {
			return nil, fmt.Errorf("evidence: azure_blob: %w", err)
		}
	} else {
		cred := o.Credential
		if cred == nil {
			if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
				return nil, fmt.Errorf("evidence: azure_blob: no account key and no Azure credential: %w", err)
			}
		}
		if s.svc, err = service.NewClient(o.AccountURL, cred, copts); err != nil {
			return nil, fmt.Errorf("evidence: azure_blob: %w", err)
		}
	}
	s.cont = s.svc.NewContainerClient(o.Container)
	if _, err := s.cont.GetProperties(ctx, nil); bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if _, err := s.cont.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil, fmt.Errorf("evidence: azure_blob: create container %s: %w", o.Container, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("evidence: azure_blob: container %s: %w", o.Container, err)
	}
	return s, nil
}

// accountName is the storage account of a blob endpoint: the host's first
// label, or the first path segment for a path-style (Azurite) endpoint.
func accountName(u *url.URL) (string, error) {
	host := u.Hostname()
	if net.ParseIP(host) != nil || host == "localhost" {
		name, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if name == "" {
			return "", fmt.Errorf("evidence: azure_blob: account URL %s names no account (path style: http://HOST:PORT/ACCOUNT)", u.Redacted())
		}
		return name, nil
	}
	name, _, _ := strings.Cut(host, ".")
	return name, nil
}

// now is the clock's time in UTC.
func (s *Store) now() time.Time { return s.clock().UTC() }

// Kind is evidence.KindAzureBlob.
func (s *Store) Kind() string { return evidence.KindAzureBlob }

// Close does nothing: the SDK's clients hold only idle connections.
func (s *Store) Close() error { return nil }

func (s *Store) packageBlob(id string) *blockblob.Client {
	return s.cont.NewBlockBlobClient(id + evidence.PackageSuffix)
}

func (s *Store) custodyBlob(id string) *blockblob.Client {
	return s.cont.NewBlockBlobClient(id + evidence.CustodySuffix)
}

// Put claims the id (a leased blob, so one Put at a time writes it: ErrBusy
// for the others), streams body as staged blocks (memory about BlockSize ×
// Concurrency), committed only once the body ended well, stamps the SHA-256
// into the blob's metadata, then creates the custody record only if none
// exists.
func (s *Store) Put(ctx context.Context, id string, body io.Reader, c evidence.Custody) (evidence.Custody, error) {
	if err := evidence.ValidID(id); err != nil {
		return evidence.Custody{}, err
	}
	if _, err := s.custodyBlob(id).GetProperties(ctx, nil); err == nil {
		return evidence.Custody{}, fmt.Errorf("%w (request %s)", evidence.ErrExists, id)
	} else if !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return evidence.Custody{}, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	unclaim, ctx, err := s.claim(ctx, id)
	if err != nil {
		return evidence.Custody{}, err
	}
	defer unclaim()
	// Checked again under the claim: another Put may have committed meanwhile.
	if _, err := s.custodyBlob(id).GetProperties(ctx, nil); err == nil {
		return evidence.Custody{}, fmt.Errorf("%w (request %s)", evidence.ErrExists, id)
	}
	received := s.now()
	h := evidence.NewHashingReader(ctx, body)
	// Blocks are committed only once the body ended well; a package blob
	// left without custody by a crash is simply replaced.
	pb := s.packageBlob(id)
	up, err := pb.UploadStream(ctx, h, &blockblob.UploadStreamOptions{BlockSize: s.block, Concurrency: s.conc,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/octet-stream")}})
	if err != nil {
		return evidence.Custody{}, fmt.Errorf("evidence: store %s: after %d bytes: %w", id, h.Size(), err)
	}
	sum := h.Sum()
	meta := map[string]*string{"sha256": to.Ptr(sum), "size": to.Ptr(strconv.FormatInt(h.Size(), 10)), "request_id": to.Ptr(id)}
	if _, err := pb.SetMetadata(ctx, meta, &blob.SetMetadataOptions{AccessConditions: ifMatch(up.ETag)}); err != nil {
		return evidence.Custody{}, fmt.Errorf("evidence: store %s: metadata: %w", id, err)
	}
	c = evidence.Seal(id, c, h.Size(), sum, received, s.now())
	b, err := evidence.EncodeCustody(c)
	if err != nil {
		return evidence.Custody{}, err
	}
	_, err = s.custodyBlob(id).Upload(ctx, streaming.NopCloser(bytes.NewReader(b)), &blockblob.UploadOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: ifNoneMatchAny(),
	})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return evidence.Custody{}, fmt.Errorf("%w (request %s)", evidence.ErrExists, id)
	}
	if err != nil {
		return evidence.Custody{}, fmt.Errorf("evidence: store %s: custody record: %w", id, err)
	}
	return c, nil
}

// Open reads the package through ranged downloads pinned to its ETag (a
// blob replaced meanwhile fails the reads instead of mixing two packages).
func (s *Store) Open(ctx context.Context, id string) (*evidence.Package, error) {
	c, err := s.Custody(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Purged() {
		return nil, &evidence.PurgedError{ID: id, At: c.PurgedAt}
	}
	bc := s.packageBlob(id).BlobClient()
	props, err := bc.GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, fmt.Errorf("%w (request %s)", evidence.ErrMissing, id)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: open %s: %w", id, err)
	}
	size, etag := *props.ContentLength, *props.ETag
	return evidence.NewPackage(evidence.PackageParts{
		Custody: c, Size: size, MetaSHA256: metaValue(props.Metadata, "sha256"),
		At: &blobReaderAt{ctx: ctx, blob: bc, etag: etag, size: size},
		Seq: func() (io.ReadCloser, error) {
			r, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: ifMatch(&etag)})
			if err != nil {
				return nil, fmt.Errorf("evidence: read %s: %w", id, err)
			}
			return r.NewRetryReader(ctx, nil), nil
		},
	}), nil
}

// Custody downloads the record; ErrNotFound when there is none.
func (s *Store) Custody(ctx context.Context, id string) (evidence.Custody, error) {
	c, _, err := s.readCustody(ctx, id)
	return c, err
}

// maxCustody bounds a custody record read into memory.
const maxCustody = 16 << 20

func (s *Store) readCustody(ctx context.Context, id string) (evidence.Custody, azcore.ETag, error) {
	if err := evidence.ValidID(id); err != nil {
		return evidence.Custody{}, "", err
	}
	r, err := s.custodyBlob(id).DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return evidence.Custody{}, "", fmt.Errorf("%w (request %s)", evidence.ErrNotFound, id)
	}
	if err != nil {
		return evidence.Custody{}, "", fmt.Errorf("evidence: custody record of %s: %w", id, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxCustody))
	if err != nil {
		return evidence.Custody{}, "", fmt.Errorf("evidence: custody record of %s: %w", id, err)
	}
	c, err := evidence.DecodeCustody(id, b)
	if err != nil {
		return evidence.Custody{}, "", err
	}
	return c, *r.ETag, nil
}

// Record appends a to the custody record.
func (s *Store) Record(ctx context.Context, id string, a evidence.Access) error {
	if err := evidence.CompleteAccess(&a, s.clock); err != nil {
		return err
	}
	return s.update(ctx, id, func(c *evidence.Custody) bool {
		c.Accesses = append(c.Accesses, a)
		return true
	})
}

// Purge marks the record purged, then deletes the package blob (again on a
// second call, in case a crash came between the two).
func (s *Store) Purge(ctx context.Context, id string, at time.Time) error {
	if err := s.update(ctx, id, func(c *evidence.Custody) bool { return evidence.MarkPurged(c, at) }); err != nil {
		return err
	}
	_, err := s.packageBlob(id).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("evidence: purge %s: %w", id, err)
	}
	return nil
}

// List reads every custody record in the container.
func (s *Store) List(ctx context.Context) ([]evidence.Custody, error) {
	var out []evidence.Custody
	pager := s.cont.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("evidence: list: %w", err)
		}
		for _, item := range page.Segment.BlobItems {
			id, ok := strings.CutSuffix(*item.Name, evidence.CustodySuffix)
			if !ok || evidence.ValidID(id) != nil {
				continue
			}
			c, err := s.Custody(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	evidence.SortCustody(out)
	return out, nil
}

// updateAttempts bounds the retries of a custody change that keeps losing
// the race to other writers.
const updateAttempts = 40

// update changes the custody record: read it with its ETag, change it, write
// it back only if the ETag still matches; on a conflict, start again.
func (s *Store) update(ctx context.Context, id string, change func(*evidence.Custody) bool) error {
	for attempt := range updateAttempts {
		c, etag, err := s.readCustody(ctx, id)
		if err != nil {
			return err
		}
		if !change(&c) {
			return nil
		}
		b, err := evidence.EncodeCustody(c)
		if err != nil {
			return err
		}
		_, err = s.custodyBlob(id).Upload(ctx, streaming.NopCloser(bytes.NewReader(b)), &blockblob.UploadOptions{
			HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
			AccessConditions: ifMatch(&etag),
		})
		if !bloberror.HasCode(err, bloberror.ConditionNotMet) {
			if err != nil {
				return fmt.Errorf("evidence: custody record of %s: %w", id, err)
			}
			return nil
		}
		// Another writer got there first: back off a little, at random, and retry.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(5*time.Millisecond)*int64(attempt+1))) + time.Millisecond):
		}
	}
	return fmt.Errorf("evidence: custody record of %s kept changing: gave up after %d attempts", id, updateAttempts)
}

func ifNoneMatchAny() *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
}

func ifMatch(etag *azcore.ETag) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: etag}}
}

// metaValue reads blob metadata case-insensitively (the service returns
// keys capitalised: sha256 comes back as Sha256).
func metaValue(m map[string]*string, key string) string {
	for k, v := range m {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}
