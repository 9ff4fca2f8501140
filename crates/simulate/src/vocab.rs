//! The simulator's own words: ticket templates and vocabulary written for it (never taken
//! from the classifier's corpus, which is training data), per catalogue category, with the
//! category's share of the calls by season.
//!
//! Slots: `{loc}` the place (`兴华南街58号`), `{road}` a road of the street, `{comm}` a
//! community, `{b}` building, `{u}` unit, `{fl}` floor, `{n}` a few days, `{t}` an indoor
//! temperature, `{h}` a few hours, `{when}` since when, `{shop}` a business, `{car}` a vehicle,
//! `{bus}` a bus line, `{hosp}` a clinic or hospital, `{spot}` a sight, `{age}` an elder's age.

/// A category's texts and share of the calls.
pub struct CategoryTexts {
    pub category: &'static str,
    /// 投诉, 求助, 咨询, 举报, 建议.
    pub request_type: &'static str,
    /// Relative share of the calls outside any season effect.
    pub weight: f64,
    /// Multipliers in the heating season, spring, summer and autumn.
    pub season: [f64; 4],
    pub texts: &'static [&'static str],
}

pub const CATEGORIES: &[CategoryTexts] = &[
    CategoryTexts {
        category: "heating",
        request_type: "投诉",
        weight: 1.0,
        season: [30.0, 0.4, 0.1, 0.6],
        texts: &[
            "{comm}{b}{u}暖气不热，屋里只有{t}度，家里有老人孩子，冻得受不了。",
            "{loc}供暖温度不达标，暖气片摸着是凉的，已经{n}天了，找物业也没人管。",
            "我家住{comm}{b}{fl}，暖气一直温乎乎的不热，供热公司说来排查也一直没来人。",
            "{comm}好几户人家暖气都不热，早上起来屋里才{t}度，要求供热单位尽快处理。",
            "{loc}这边交了取暖费暖气还是冰凉，晚上睡觉得穿着棉袄，请给个说法。",
            "{comm}{b}暖气管子里老有空气，放了气还是不热，卧室就{t}度。",
            "家里暖气上热下凉，供热站说是楼里管网的问题，{n}天了没人解决，地址{loc}。",
        ],
    },
    CategoryTexts {
        category: "water_supply",
        request_type: "投诉",
        weight: 7.0,
        season: [0.8, 1.0, 1.3, 1.0],
        texts: &[
            "{loc}从{when}开始停水，没有提前通知，做饭洗漱都成问题。",
            "{comm}自来水发黄，还有股铁锈味，不敢喝也不敢用。",
            "{comm}{b}水压太低，{fl}以上基本放不出水。",
            "{loc}停水{n}天了，问了物业说是管网维修，到现在也没恢复供水。",
            "{comm}的自来水一放出来全是白沫子，烧开了底下一层水垢。",
        ],
    },
    CategoryTexts {
        category: "power_supply",
        request_type: "投诉",
        weight: 4.0,
        season: [1.0, 0.8, 1.5, 0.8],
        texts: &[
            "{comm}{b}{when}停电了，冰箱里的东西都要坏了，到底什么时候来电？",
            "{loc}附近一大片都没电了，也没看到任何停电通知。",
            "{comm}一个礼拜停了三回电，家里电器都烧坏了一台。",
            "{comm}电压不稳，灯一闪一闪的，昨晚还停了{h}个小时电。",
        ],
    },
    CategoryTexts {
        category: "garbage",
        request_type: "投诉",
        weight: 8.0,
        season: [0.8, 1.0, 1.3, 1.0],
        texts: &[
            "{loc}的垃圾桶满了好几天没人清运，味道很大，苍蝇乱飞。",
            "{comm}门口堆了一大堆装修垃圾，占了半条道，一直没人拉走。",
            "{road}边上总有人乱倒生活垃圾，越堆越多。",
            "{comm}的垃圾站{n}天没清了，垃圾都溢到路上了。",
            "{road}绿化带里扔满了塑料袋和饭盒，环卫一直不来扫。",
        ],
    },
    CategoryTexts {
        category: "noise",
        request_type: "投诉",
        weight: 7.0,
        season: [0.6, 1.1, 1.4, 1.1],
        texts: &[
            "{loc}有个工地晚上施工到十二点多，噪音特别大，根本睡不着。",
            "{road}上一家{shop}每天放音乐放到半夜，吵得人没法休息。",
            "{comm}旁边的工地天不亮就开始打桩，已经持续{n}天了。",
            "{loc}楼下{shop}的排风机嗡嗡响一宿，窗户关上也能听见。",
            "{road}夜里有渣土车轰轰地过，还有工地机器作业，吵得孩子没法睡。",
        ],
    },
    CategoryTexts {
        category: "illegal_parking",
        request_type: "投诉",
        weight: 6.0,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "{loc}门口天天有车停在便道上，推婴儿车的只好绕到马路上走。",
            "{road}路口有{car}停着，挡住了视线，很危险。",
            "{comm}门口{car}长时间停在公交站台里，公交车进不了站。",
            "{loc}有车双排停车，早晚高峰这条路基本走不动。",
            "{road}盲道上停满了车，盲人根本没法走。",
        ],
    },
    CategoryTexts {
        category: "fire_lane_blocked",
        request_type: "投诉",
        weight: 1.5,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "{comm}的消防通道被{car}堵死了，万一着火消防车根本进不来。",
            "{comm}{b}前面那条消防车道上横七竖八全是车，跟物业说了好几回都没用。",
            "{loc}有人在消防通道上堆杂物，还拿铁链子锁上了。",
        ],
    },
    CategoryTexts {
        category: "street_vendor",
        request_type: "投诉",
        weight: 4.0,
        season: [0.5, 1.2, 1.5, 1.2],
        texts: &[
            "{road}路边有人摆摊卖菜，把人行道都占满了。",
            "{loc}一到晚上就有一排烧烤摊占道经营，油烟大还乱扔垃圾。",
            "{comm}门口早上有流动商贩卖早点，把小区出入口都堵了。",
            "{road}天桥底下天天有人摆地摊，行人过不去。",
        ],
    },
    CategoryTexts {
        category: "road_damage",
        request_type: "投诉",
        weight: 4.0,
        season: [0.8, 1.5, 1.0, 1.0],
        texts: &[
            "{road}有个大坑，下雨积了水看不见，已经有电动车在那翻车了。",
            "{loc}人行道的地砖松动翘起来了，好几块都碎了。",
            "{road}路面塌了一块，车过去都得绕着走。",
            "{road}的沥青路面裂了一长道缝，越来越宽。",
            "开春以后{road}冻裂的地方一直没修，坑坑洼洼的。",
        ],
    },
    CategoryTexts {
        category: "streetlight",
        request_type: "投诉",
        weight: 3.5,
        season: [1.3, 0.9, 0.8, 1.0],
        texts: &[
            "{road}一整段路灯都不亮，晚上黑灯瞎火的，走路害怕。",
            "{loc}附近的路灯白天亮着晚上反而灭了。",
            "{comm}门口的路灯坏了{n}天了，一直没人来修。",
            "{road}有几根路灯杆的灯一闪一闪的，晚上晃眼睛。",
        ],
    },
    CategoryTexts {
        category: "manhole_missing",
        request_type: "求助",
        weight: 1.5,
        season: [1.0, 1.0, 1.2, 1.0],
        texts: &[
            "{road}上有个井盖没了，黑乎乎一个大洞，太危险了。",
            "{loc}门前的井盖碎了，车一压就晃荡，怕有人掉下去。",
            "{road}人行道上的井盖翘起来一边，晚上看不清容易踩空。",
        ],
    },
    CategoryTexts {
        category: "waterlogging",
        request_type: "求助",
        weight: 0.8,
        season: [0.2, 0.8, 4.0, 1.0],
        texts: &[
            "{road}积水很深，已经没过车轮了，好几辆车在水里熄火。",
            "{loc}的雨水口堵了，路面积水排不出去，行人都过不去。",
            "{road}桥下积水太深，车辆没法通行，请赶紧派人排水。",
            "{comm}门口积水都快漫进楼道了。",
        ],
    },
    CategoryTexts {
        category: "signal_fault",
        request_type: "求助",
        weight: 1.0,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "{road}路口的红绿灯全黑了，车辆乱行，很容易出事故。",
            "{loc}的交通信号灯一直闪黄灯，早高峰路口堵死了。",
            "{road}人行横道的信号灯坏了，绿灯只亮几秒钟。",
        ],
    },
    CategoryTexts {
        category: "congestion",
        request_type: "建议",
        weight: 1.0,
        season: [1.2, 1.0, 0.9, 1.0],
        texts: &[
            "{road}这段路每天下班时间都堵得水泄不通，建议交警高峰时段来疏导。",
            "{road}学校门口接孩子的车太多，每天放学都堵成一锅粥。",
        ],
    },
    CategoryTexts {
        category: "public_transport",
        request_type: "投诉",
        weight: 3.5,
        season: [1.2, 1.0, 1.0, 1.0],
        texts: &[
            "{bus}公交车等了四十多分钟都不来，早上上班都迟到了。",
            "{bus}的司机开车太猛，一路急刹车，有老人差点摔了。",
            "从{road}打出租车去火车站，司机不打表还故意绕路。",
            "{bus}到{road}站不停车，直接就开过去了。",
            "建议{bus}早上多发几趟车，车上挤得根本上不去。",
        ],
    },
    CategoryTexts {
        category: "parking_facility",
        request_type: "投诉",
        weight: 2.0,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "{loc}附近的停车场乱收费，停一个钟头收了二十块，也没有公示收费标准。",
            "{comm}的地下车库管理混乱，业主的车位老被外来车占着。",
            "{road}路边停车收费员收了钱不给票。",
        ],
    },
    CategoryTexts {
        category: "medical_emergency",
        request_type: "求助",
        weight: 1.0,
        season: [1.2, 1.0, 1.0, 1.0],
        texts: &[
            "{loc}有人突然倒在地上叫不醒，请马上派救护车！",
            "{comm}{b}家里老人突然喘不上气，嘴唇都紫了，快派急救车。",
            "{road}发生车祸，有人受伤流了很多血，需要急救。",
            "家里人胸口疼得厉害，满头大汗，地址是{loc}，请快派救护车。",
        ],
    },
    CategoryTexts {
        category: "hospital_service",
        request_type: "投诉",
        weight: 2.5,
        season: [1.1, 1.0, 1.0, 1.0],
        texts: &[
            "在{hosp}看病排队排了三个多小时，挂号系统还老出错。",
            "{hosp}的医生态度很差，多问两句就不耐烦。",
            "{hosp}收费不透明，同样的检查比别的地方贵不少。",
        ],
    },
    CategoryTexts {
        category: "medicine_supply",
        request_type: "求助",
        weight: 1.0,
        season: [1.3, 1.0, 0.8, 1.0],
        texts: &[
            "{hosp}开不出医保目录里的药，说是断货了，已经等了{n}天。",
            "附近药店买不到孩子用的退烧药，跑了好几家都没有。",
            "慢病用的药在社区医院总是缺货，只能跑大医院去开。",
        ],
    },
    CategoryTexts {
        category: "inactivity_alarm",
        request_type: "求助",
        weight: 0.4,
        season: [1.3, 1.0, 1.0, 1.0],
        texts: &[
            "{comm}{b}住着一位{age}岁的独居老人，{n}天没见他出门了，敲门也没人应。",
            "对门的老太太自己住，这两天门口的牛奶一直没拿进去，屋里也听不到声音，怕她出事。",
            "{loc}有位独居老人电话一直打不通，家属在外地，请社区帮忙上门看看。",
        ],
    },
    CategoryTexts {
        category: "fall_alarm",
        request_type: "求助",
        weight: 0.3,
        season: [1.5, 1.0, 0.8, 1.0],
        texts: &[
            "我家老人在{comm}{b}家里摔倒了起不来，我在外地赶不回去，请帮忙派人去看看。",
            "{loc}有位老人在路边滑倒了，腿动不了，一直在喊疼。",
        ],
    },
    CategoryTexts {
        category: "elderly_service",
        request_type: "投诉",
        weight: 1.5,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "{comm}附近的社区食堂饭菜越来越贵，老人吃不起。",
            "{loc}的养老院护理员太少，老人一天都没人管。",
            "社区助老餐说停就停了，也没个通知，老人吃饭成了难题。",
        ],
    },
    CategoryTexts {
        category: "fire",
        request_type: "求助",
        weight: 0.8,
        season: [1.5, 1.2, 0.8, 1.0],
        texts: &[
            "{loc}一家{shop}往外冒浓烟，好像着火了！",
            "{comm}{b}楼道里起火了，烟很大，快来人！",
            "{road}路边一辆车着火了，火苗窜得老高。",
            "{comm}{b}{fl}那户人家窗口蹿出火苗，黑烟滚滚的。",
        ],
    },
    CategoryTexts {
        category: "gas_leak",
        request_type: "求助",
        weight: 0.8,
        season: [1.5, 1.0, 0.8, 1.0],
        texts: &[
            "{comm}{b}{u}楼道里煤气味特别大，不知道是谁家漏气了。",
            "{loc}附近闻到很浓的燃气味，像是管道漏了。",
            "家里燃气灶关了还有嘶嘶的声音，屋里全是煤气味，地址{loc}。",
            "{road}路边施工把燃气管道挖破了，正在往外漏气。",
        ],
    },
    CategoryTexts {
        category: "structural_risk",
        request_type: "求助",
        weight: 0.8,
        season: [1.0, 1.3, 1.2, 1.0],
        texts: &[
            "{comm}{b}外墙皮大块大块往下掉，砸到了楼下停的车。",
            "{road}上的人行天桥走上去晃得厉害，桥墩上有裂缝。",
            "{comm}{b}墙上裂了好几道大缝，住户都担心楼有危险。",
            "{loc}旁边的大广告牌歪了，随时可能掉下来。",
        ],
    },
    CategoryTexts {
        category: "illegal_construction",
        request_type: "举报",
        weight: 2.5,
        season: [0.6, 1.3, 1.2, 1.0],
        texts: &[
            "{comm}{b}一楼住户私自扩建，把院子圈起来盖了房子。",
            "{comm}有人在楼顶违规搭了个彩钢房。",
            "{loc}有人在绿地上私搭乱建，盖了个库房。",
        ],
    },
    CategoryTexts {
        category: "air_pollution",
        request_type: "投诉",
        weight: 2.0,
        season: [1.6, 1.0, 0.8, 1.0],
        texts: &[
            "{loc}附近有工厂晚上偷偷排废气，气味刺鼻。",
            "{road}一家{shop}油烟直排，整条街都是油烟味。",
            "{comm}附近锅炉房的烟囱一直冒黑烟，窗户都不敢开。",
            "{loc}的工地扬尘很大，既不洒水也不苫盖。",
        ],
    },
    CategoryTexts {
        category: "water_pollution",
        request_type: "举报",
        weight: 0.8,
        season: [0.5, 1.0, 1.5, 1.0],
        texts: &[
            "{loc}附近的河里漂着死鱼，水发黑发臭。",
            "有企业往{road}边的河沟里排污水，水都变颜色了。",
            "{loc}的小河面上漂着一层油污，味道很难闻。",
        ],
    },
    CategoryTexts {
        category: "straw_burning",
        request_type: "举报",
        weight: 0.4,
        season: [0.5, 3.0, 0.5, 3.0],
        texts: &[
            "{loc}附近有人在地里烧秸秆，烟大得看不清路。",
            "{road}边上有人焚烧垃圾和落叶，浓烟呛人。",
        ],
    },
    CategoryTexts {
        category: "epidemic",
        request_type: "求助",
        weight: 0.3,
        season: [1.5, 1.0, 0.8, 1.0],
        texts: &[
            "{comm}好几户人家同时发烧拉肚子，担心是传染病。",
            "{loc}附近一所学校好多学生发烧请假，家长都很担心。",
        ],
    },
    CategoryTexts {
        category: "food_safety",
        request_type: "投诉",
        weight: 2.0,
        season: [0.8, 1.0, 1.5, 1.0],
        texts: &[
            "在{road}一家饭店吃完饭，全家上吐下泻。",
            "{loc}的超市卖过期食品，生产日期都是改过的。",
            "{road}一家早餐店卫生太差，后厨有老鼠乱跑。",
        ],
    },
    CategoryTexts {
        category: "tourism_service",
        request_type: "投诉",
        weight: 1.0,
        season: [0.6, 1.2, 1.8, 1.4],
        texts: &[
            "去{spot}玩，门口停车费贵得离谱，也没有明码标价。",
            "参加一日游去{spot}，导游一路拉着进店，谁不掏钱就给谁脸色看。",
            "{spot}里卖的纪念品和饮料价格虚高，买完才发现被宰了。",
        ],
    },
    CategoryTexts {
        category: "enterprise_service",
        request_type: "咨询",
        weight: 1.5,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "我们是一家小微企业，申请的稳岗补贴{n}个月了还没到账。",
            "公司办营业执照变更，来回跑了好几趟还没办完。",
            "企业申报的惠企政策资金一直没兑现，想问问进度。",
        ],
    },
    CategoryTexts {
        category: "consultation",
        request_type: "咨询",
        weight: 6.0,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "请问办理居住证需要准备哪些材料？",
            "咨询一下今年小学报名按什么划片，去哪能查到自家对应哪所学校。",
            "想问一下医保异地备案怎么办理。",
            "咨询公积金提取需要哪些手续。",
            "请问老年证在哪里办，需要带什么证件？",
        ],
    },
    CategoryTexts {
        category: "unclassified",
        request_type: "投诉",
        weight: 4.0,
        season: [1.0, 1.0, 1.0, 1.0],
        texts: &[
            "在网上买的东西商家不给退货，客服也联系不上。",
            "公司拖欠我{n}个月工资，老板一直找借口不给。",
            "手机号被莫名其妙开通了付费业务，营业厅不给退钱。",
            "和房东因为押金的事吵起来了，房东就是不退押金。",
        ],
    },
];

/// Heating-outage calls from one community (集中停暖).
pub const OUTAGE_TEXTS: &[&str] = &[
    "{comm}整个小区突然停暖了，屋里温度一直往下掉，供热站电话打不通。",
    "{comm}{b}暖气从{when}就凉了，问了邻居家也一样，是不是管道出问题了？",
    "我们{comm}停暖好几个小时了，一点通知都没有，老人冻得直哆嗦。",
    "{comm}{b}{u}供热中断了，屋里已经降到{t}度，什么时候能恢复？",
    "{comm}暖气管道好像爆了，楼下冒热气，全楼暖气都不热了。",
    "{comm}{b}停暖了，家里有刚出生的孩子，请供热公司赶紧抢修。",
];

/// Waterlogging calls during the rainstorm (暴雨内涝).
pub const RAIN_TEXTS: &[&str] = &[
    "雨太大了，{road}积水已经到膝盖了，有车被困在水里。",
    "{loc}附近下水道往外冒水，路面全淹了，电动车都推不过去。",
    "{road}下穿桥积水很深，有车熄火在里面，请赶紧处理。",
    "{comm}门口积水倒灌进了地下室和车库。",
    "{road}变成河了，公交车都过不去，请派人排水。",
];

/// A neighbour's call during the gas alarm (燃气报警).
pub const GAS_TEXTS: &[&str] = &[
    "{comm}{b}{u}楼道里有很浓的煤气味，谁家的报警器一直在响。",
    "{loc}楼里燃气报警器响了，闻着煤气味很冲，邻居都跑到楼下了。",
];

/// Openings of a phone call's summary (话务员记录) and of an app or WeChat message.
pub const PHONE_OPENINGS: &[&str] = &[
    "市民来电反映：",
    "来电人反映：",
    "市民来电称，",
    "来电人表示，",
    "",
];
pub const APP_OPENINGS: &[&str] = &["", "", "你好，", "我想反映个事，"];

/// Closings of a complaint, and of an urgent call.
pub const CLOSINGS: &[&str] = &[
    "",
    "",
    "希望尽快处理。",
    "请相关部门尽快解决。",
    "麻烦派人来看看。",
    "请给个答复。",
    "这事反映过不止一回了。",
];
pub const URGENT_CLOSINGS: &[&str] = &["", "请赶紧派人来！", "情况很急。"];

/// Openings of a repeat call about the same issue (催办).
pub const REPEAT_OPENINGS: &[&str] = &[
    "{n}天前打电话反映过，到现在还没解决：",
    "再次反映：",
    "第二次来电了，之前说的问题还在：",
    "催办：",
    "上回说会处理，一直没人来，",
];

pub const WHEN: &[&str] = &[
    "今天早上",
    "昨天晚上",
    "这两天",
    "上周",
    "前天",
    "今天下午",
    "半夜",
];
pub const SHOPS: &[&str] = &[
    "烧烤店",
    "饭店",
    "KTV",
    "洗车行",
    "超市",
    "歌厅",
    "酒吧",
    "麻辣烫店",
    "台球厅",
];
pub const CARS: &[&str] = &[
    "一辆白色轿车",
    "一辆黑色越野车",
    "几辆私家车",
    "一辆货车",
    "一辆面包车",
    "一辆出租车",
];
pub const HOSPITALS: &[&str] = &[
    "区中心医院",
    "社区卫生服务中心",
    "一家民营医院",
    "市里一家大医院",
    "附近的诊所",
];
pub const SIGHTS: &[&str] = &[
    "沈阳故宫",
    "北陵公园",
    "棋盘山",
    "张氏帅府",
    "世博园",
    "植物园",
];
