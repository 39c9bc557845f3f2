package s3

// defaultGrowEvery is how many parts are uploaded at one size before the size
// doubles. With 900, any first part size from S3's 5 MiB minimum up holds
// an object of 5 TiB within 10,000 parts (TestPartSizeGrowthReaches5TiB),
// and at the 8 MiB default the parts stay 8 MiB up to 7 GiB and at most
// 64 MiB up to about 100 GiB: a Lync backup never sees big buffers.
const defaultGrowEvery = 900

// partSize is the size of part n (counting from 1) when the first part is
// base bytes: base doubled every growEvery parts, capped at S3's 5 GiB.
// Memory in flight is (concurrency+1) × partSize(n), so it grows only
// with streams that need it.
func partSize(base int64, n, growEvery int) int64 {
	if growEvery <= 0 {
		growEvery = defaultGrowEvery
	}
	shift := (n - 1) / growEvery
	if shift > 20 {
		return MaxPartSize
	}
	s := base << shift
	if s > MaxPartSize {
		return MaxPartSize
	}
	return s
}

// capacity is how many bytes parts 1..parts hold with first part base.
func capacity(base int64, parts, growEvery int) int64 {
	var sum int64
	for n := 1; n <= parts; n++ {
		sum += partSize(base, n, growEvery)
	}
	return sum
}
