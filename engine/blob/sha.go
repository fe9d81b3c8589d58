package blob

import (
	"crypto/sha256"
	"encoding/hex"
)

// SHA256 returns the lowercase hex sha256 of text: a blob's address.
func SHA256(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}
