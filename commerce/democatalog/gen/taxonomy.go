package main

// attrFn makes a product's attributes; brand is its brand.
type attrFn func(r *rng, brand string) map[string]any

// nb adapts an attribute maker that ignores the brand.
func nb(f func(r *rng) map[string]any) attrFn {
	return func(r *rng, _ string) map[string]any { return f(r) }
}

// leaf is one second-level category with what its products look like.
type leaf struct {
	top, name string
	nouns     []string // how titles name the product (first = canonical)
	brands    []string
	priceYuan [2]int
	attrs     attrFn
	words     []string // title selling points
}

var (
	womenColors = []string{"黑色", "白色", "米白色", "杏色", "粉色", "浅蓝色", "雾霾蓝", "牛油果绿", "酒红色", "卡其色", "灰色", "碎花"}
	menColors   = []string{"黑色", "白色", "灰色", "藏青色", "军绿色", "卡其色", "深蓝色", "浅灰色"}
	shoeColors  = []string{"黑色", "白色", "黑白", "灰色", "米白色", "红色", "蓝色", "粉色"}
	sizesTop    = []string{"S", "M", "L", "XL", "XXL"}
	sizesPants  = []string{"26", "27", "28", "29", "30", "31", "32", "33", "34"}
	sizesShoe   = []string{"35", "36", "37", "38", "39", "40", "41", "42", "43", "44"}
	seasons     = []string{"春季", "夏季", "秋季", "冬季"}
	womenStyle  = []string{"法式", "韩版", "复古", "简约", "通勤", "甜美", "休闲", "气质"}
	menStyle    = []string{"商务", "休闲", "简约", "潮牌", "运动", "工装"}
	fabric      = []string{"纯棉", "雪纺", "真丝", "亚麻", "针织", "涤纶", "莫代尔"}
	skinTypes   = []string{"干皮", "油皮", "混合肌", "敏感肌", "中性肌"}
	effects     = []string{"补水", "保湿", "美白", "抗老", "修护", "控油", "祛痘", "紧致"}
	flavors     = []string{"原味", "香辣", "麻辣", "五香", "黑椒", "奶香", "海盐", "蜂蜜"}
	origins     = []string{"新疆", "云南", "内蒙古", "四川", "福建", "浙江", "广西柳州", "东北"}
)

func apparel(colors, sizes, styles []string) func(r *rng) map[string]any {
	return func(r *rng) map[string]any {
		return map[string]any{
			"颜色": r.some(colors, 1, 4), "尺码": r.run(sizes, 3, 5),
			"材质": r.pick(fabric), "风格": r.pick(styles), "季节": r.pick(seasons),
		}
	}
}

func shoes(r *rng) map[string]any {
	return map[string]any{
		"颜色": r.some(shoeColors, 1, 3), "尺码": r.run(sizesShoe, 5, 8),
		"鞋面材质": r.pick([]string{"网面", "真皮", "帆布", "飞织", "超纤皮"}),
		"功能":   r.some([]string{"减震", "透气", "防滑", "轻便", "耐磨"}, 1, 3),
	}
}

func skincare(r *rng) map[string]any {
	return map[string]any{
		"功效": r.some(effects, 1, 3), "适用肤质": r.some(skinTypes, 1, 3),
		"容量": r.pick([]string{"30ml", "50ml", "100ml", "120ml", "200ml"}),
	}
}

func makeup(r *rng) map[string]any {
	return map[string]any{
		"色号":   r.pick([]string{"正红色", "豆沙色", "番茄色", "奶茶色", "枫叶红", "象牙白", "自然色", "大地色"}),
		"适用肤质": r.some(skinTypes, 1, 2), "质地": r.pick([]string{"哑光", "滋润", "水光", "丝绒"}),
	}
}

func food(specs []string) func(r *rng) map[string]any {
	return func(r *rng) map[string]any {
		return map[string]any{
			"口味": r.some(flavors, 1, 3), "净含量": r.pick(specs), "产地": r.pick(origins),
			"包装": r.pick([]string{"袋装", "礼盒装", "罐装", "箱装"}),
		}
	}
}

func home(colors, sizes, materials []string) func(r *rng) map[string]any {
	return func(r *rng) map[string]any {
		m := map[string]any{"颜色": r.some(colors, 1, 3), "材质": r.pick(materials)}
		if len(sizes) > 0 {
			m["规格"] = r.some(sizes, 1, 2)
		}
		return m
	}
}

func digital(models map[string][]string, extra func(r *rng) map[string]any) attrFn {
	return func(r *rng, brand string) map[string]any {
		m := extra(r)
		if ms := models[brand]; len(ms) > 0 {
			m["型号"] = r.pick(ms)
		}
		return m
	}
}

var phoneModels = map[string][]string{
	"苹果/Apple":   {"iPhone 15", "iPhone 15 Pro", "iPhone 15 Pro Max", "iPhone 14"},
	"华为/HUAWEI":  {"Mate 60", "Mate 60 Pro", "P60", "nova 12"},
	"小米/Xiaomi":  {"小米14", "小米14 Ultra", "Redmi K70", "Redmi Note 13"},
	"OPPO":       {"Find X7", "Reno11", "A2 Pro"},
	"vivo":       {"X100", "X100 Pro", "S18", "iQOO 12"},
	"荣耀/HONOR":   {"Magic6", "荣耀90", "X50"},
	"三星/Samsung": {"Galaxy S24", "Galaxy Z Flip5", "Galaxy A55"},
}

var earphoneModels = map[string][]string{
	"苹果/Apple": {"AirPods Pro 2", "AirPods 3"}, "华为/HUAWEI": {"FreeBuds Pro 3", "FreeBuds 5i"},
	"小米/Xiaomi": {"Redmi Buds 5", "Xiaomi Buds 4 Pro"}, "索尼/Sony": {"WF-1000XM5", "WH-1000XM5"},
	"漫步者/EDIFIER": {"NeoBuds Pro 2", "W820NB"},
}

var laptopModels = map[string][]string{
	"苹果/Apple": {"MacBook Air", "MacBook Pro"}, "华为/HUAWEI": {"MateBook 14", "MateBook X Pro"},
	"联想/Lenovo": {"ThinkPad X1", "小新Pro16", "拯救者Y9000P"}, "小米/Xiaomi": {"Redmi Book 16", "Xiaomi Book Pro 14"},
}

var tabletModels = map[string][]string{
	"苹果/Apple": {"iPad Air", "iPad Pro", "iPad mini"}, "华为/HUAWEI": {"MatePad 11", "MatePad Pro"},
	"小米/Xiaomi": {"Xiaomi Pad 6", "Redmi Pad SE"}, "联想/Lenovo": {"小新Pad Pro"},
}

var watchModels = map[string][]string{
	"苹果/Apple": {"Apple Watch S9", "Apple Watch Ultra 2"}, "华为/HUAWEI": {"Watch GT4", "Watch 4 Pro"},
	"小米/Xiaomi": {"小米手环8", "Xiaomi Watch S3"},
}

func storage(r *rng) map[string]any {
	return map[string]any{"颜色": r.some([]string{"黑色", "白色", "银色", "蓝色", "紫色", "钛金属色", "绿色"}, 1, 3),
		"存储容量": r.some([]string{"128GB", "256GB", "512GB", "1TB"}, 1, 3), "网络": "5G"}
}

func earAttrs(r *rng) map[string]any {
	return map[string]any{"颜色": r.some([]string{"白色", "黑色", "蓝色"}, 1, 2),
		"功能": r.some([]string{"主动降噪", "无线充电", "空间音频", "通透模式"}, 1, 3)}
}

func laptopAttrs(r *rng) map[string]any {
	return map[string]any{"内存": r.pick([]string{"8GB", "16GB", "32GB"}), "硬盘": r.pick([]string{"512GB", "1TB"}),
		"颜色": r.some([]string{"深空灰", "银色", "黑色"}, 1, 2)}
}

func plainColor(r *rng) map[string]any {
	return map[string]any{"颜色": r.some([]string{"黑色", "白色", "银色", "粉色", "蓝色"}, 1, 3)}
}
