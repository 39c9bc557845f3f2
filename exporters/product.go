package exporters

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Product is one Lync / Skype for Business Server release and where its
// PowerShell module lives under Common Files.
type Product struct {
	ID   string // 2013, 2015, 2019, se
	Name string
	// dir and module are relative to %CommonProgramFiles%.
	dir, module string
	// PersistentChat: Persistent Chat exists (removed in 2019).
	PersistentChat bool
}

// Products in probe order (newest first: only one is ever installed).
var Products = []Product{
	// Subscription Edition's path is not documented; this is the 2019
	// layout without the year. lync.module overrides it.
	{ID: "se", Name: "Skype for Business Server Subscription Edition", dir: "Skype for Business Server", module: `Modules\SkypeForBusiness\SkypeForBusiness.psd1`},
	{ID: "2019", Name: "Skype for Business Server 2019", dir: "Skype for Business Server 2019", module: `Modules\SkypeForBusiness\SkypeForBusiness.psd1`},
	{ID: "2015", Name: "Skype for Business Server 2015", dir: "Skype for Business Server 2015", module: `Modules\SkypeForBusiness\SkypeForBusiness.psd1`, PersistentChat: true},
	{ID: "2013", Name: "Lync Server 2013", dir: "Microsoft Lync Server 2013", module: `Modules\Lync\Lync.psd1`, PersistentChat: true},
}

// ProductByID returns the product with that id (2013, 2015, 2019, se).
func ProductByID(id string) (Product, bool) {
	for _, p := range Products {
		if strings.EqualFold(p.ID, id) {
			return p, true
		}
	}
	return Product{}, false
}

// commonFiles is %CommonProgramFiles% (the 64-bit one: the tool is
// built for amd64), with the stock default.
func commonFiles() string {
	if v := os.Getenv("CommonProgramFiles"); v != "" {
		return v
	}
	return `C:\Program Files\Common Files`
}

// DefaultModulePath is where p's module is installed on this machine.
func (p Product) DefaultModulePath() string {
	parts := append([]string{commonFiles(), p.dir}, strings.Split(p.module, `\`)...)
	return filepath.Join(parts...)
}

// ModulePath finds the Lync / SfB module: override (lync.module) as
// given; else the product's default path; else the first installed of
// the known products. It returns the module path and the product id.
func ModulePath(product, override string) (string, string, error) {
	product = strings.ToLower(product)
	if override != "" {
		if product == "" {
			product = guessProduct(override)
		}
		if product == "" {
			return "", "", fmt.Errorf("lync.module %s: cannot tell the product from the path; set lync.product (2013, 2015, 2019 or se)", override)
		}
		if _, ok := ProductByID(product); !ok {
			return "", "", fmt.Errorf("lync.product %q is unknown (2013, 2015, 2019 or se)", product)
		}
		return override, product, nil
	}
	if product != "" {
		p, ok := ProductByID(product)
		if !ok {
			return "", "", fmt.Errorf("lync.product %q is unknown (2013, 2015, 2019 or se)", product)
		}
		path := p.DefaultModulePath()
		if _, err := os.Stat(path); err != nil {
			return "", "", fmt.Errorf("the %s PowerShell module is not at %s (set lync.module to its path)", p.Name, path)
		}
		return path, p.ID, nil
	}
	var tried []string
	for _, p := range Products {
		path := p.DefaultModulePath()
		if _, err := os.Stat(path); err == nil {
			return path, p.ID, nil
		}
		tried = append(tried, path)
	}
	return "", "", fmt.Errorf("no Lync Server 2013 / Skype for Business Server PowerShell module found (looked for %s); run on a Front End or Standard Edition server with the admin tools, or set lync.module and lync.product", strings.Join(tried, ", "))
}

// guessProduct reads the release from a module path.
func guessProduct(path string) string {
	l := strings.ToLower(path)
	switch {
	case strings.Contains(l, "2013") || strings.Contains(l, `modules\lync\`) || strings.Contains(l, "modules/lync/"):
		return "2013"
	case strings.Contains(l, "2015"):
		return "2015"
	case strings.Contains(l, "2019"):
		return "2019"
	}
	return ""
}
