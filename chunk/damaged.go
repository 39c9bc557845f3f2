package chunk

// DamagedError is a chunk object whose bytes are not those its manifest
// entry describes: another size, another SHA-256 or age header, or bytes
// age refuses to decrypt. Every set naming the chunk with that entry
// cannot restore the items using it; deleting the object lets the next
// backup store the chunk again.
type DamagedError struct {
	Key string
	// SHA256 is the SHA-256 the manifest entry recorded for the object.
	SHA256 string
	Msg    string // what did not match, without the key
}

func (e *DamagedError) Error() string { return "chunk " + e.Key + e.Msg }
