package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Small content is hashed in memory and large content streamed; both must
// name blobs as the Hasher (and so the file index) does, and read back.
func TestBlobsPutSmallAndLarge(t *testing.T) {
	t.Parallel()
	b := NewBlobs(t.TempDir())
	for _, size := range []int{0, 1, smallBlob - 1, smallBlob, smallBlob + 1, 3*smallBlob + 7} {
		content := bytes.Repeat([]byte("abcdefghij"), size/10+1)[:size]
		h := NewHasher()
		h.Write(content)
		d, n, err := b.Put(bytes.NewReader(content))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if d != h.Digest() || n != int64(size) {
			t.Errorf("size %d: Put = %s, %d; want %s, %d", size, d, n, h.Digest(), size)
		}
		var back bytes.Buffer
		if _, err := b.CopyTo(&back, d); err != nil || !bytes.Equal(back.Bytes(), content) {
			t.Errorf("size %d: CopyTo gave %d bytes, %v", size, back.Len(), err)
		}
		// Storing it again changes nothing and leaves no temporary file.
		if d2, _, err := b.Put(bytes.NewReader(content)); err != nil || d2 != d {
			t.Errorf("size %d: second Put = %s, %v", size, d2, err)
		}
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".put-") {
			t.Errorf("temporary file left behind: %s", filepath.Join(b.dir, e.Name()))
		}
	}
}
