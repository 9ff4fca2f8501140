//! The shipped life-safety rules (config/classify_rules.toml): the many ways people describe
//! danger fire; the look-alikes that are not an emergency now do not.

use cityops_classify::RuleSet;
use cityops_core::catalogue::Catalogue;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules() -> &'static RuleSet {
    static R: OnceLock<RuleSet> = OnceLock::new();
    R.get_or_init(|| RuleSet::load(root().join(cityops_classify::RULES_PATH)).expect("rules load"))
}

fn category(text: &str) -> Option<String> {
    rules().check(text).map(|m| m.category.as_str().to_owned())
}

#[test]
fn shipped_rules_name_actionable_catalogue_categories() {
    let cat = Catalogue::load(root().join("config/catalogue.toml")).unwrap();
    rules().validate(&cat).unwrap();
    let ids: Vec<&str> = rules().rules().iter().map(|r| r.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "duplicate rule ids");
    assert!(!rules().version().is_empty());
}

#[test]
fn danger_in_many_words_fires() {
    let cases: &[(&str, &str)] = &[
        // fire
        ("楼道冒烟了 3号楼", "fire"),
        ("对面楼着火了 窗户往外冒黑烟", "fire"),
        ("俺家仓房着了 火老大了", "fire"),
        ("餐馆后厨着了 火上了房顶", "fire"),
        ("电动车在楼道充电 烧起来了", "fire"),
        ("屋里全是烟 闻着像啥东西烧了", "fire"),
        ("大棚那边着火了 不是烧秸秆 是棚子烧起来了", "fire"),
        ("ＫＴＶ包房起火了", "fire"),
        ("我妈被困在电梯里了", "fire"),
        ("房子塌了 有人被埋在下面", "fire"),
        // gas
        ("屋里有煤气味 不敢开灯 咋整", "gas_leak"),
        ("单元里一股嘎斯味 贼冲", "gas_leak"),
        ("燃气灶关了还有味 是不是漏了", "gas_leak"),
        ("液化气罐子漏气了 呲呲响", "gas_leak"),
        ("施工把燃气管道挖断了", "gas_leak"),
        ("家里燃汽味很大", "gas_leak"),
        ("厨房那味儿跟臭鸡蛋似的", "gas_leak"),
        ("热水器打不着火 屋里一股煤气味", "gas_leak"),
        // medical
        ("有个人晕倒了 叫不醒", "medical_emergency"),
        ("救命 我妈喘不上气了", "medical_emergency"),
        ("我爸突然说不出话 嘴歪了", "medical_emergency"),
        ("有人倒在路边抽搐 口吐白沫", "medical_emergency"),
        ("孩子误吞了纽扣电池", "medical_emergency"),
        ("媳妇要生了 羊水破了", "medical_emergency"),
        ("工人从脚手架上摔下来 出血较多", "medical_emergency"),
        ("小孩掉河里了 刚捞上来 没气了", "medical_emergency"),
        ("我姐喝农药了 快来救人", "medical_emergency"),
        ("人不动了 也不喘气了 在街边", "medical_emergency"),
        // falls
        ("老人在家摔倒起不来", "fall_alarm"),
        ("我爸在楼道摔了 起不来了", "fall_alarm"),
        ("家里老人卡倒了 起不来了 咋整", "fall_alarm"),
        ("老太太下楼踩空了 坐地上直哼哼 起不来", "fall_alarm"),
        ("手环报警了 显示老人跌倒", "fall_alarm"),
        ("老人按了一键呼叫 电话打不通", "fall_alarm"),
        ("母亲佩戴的呼叫器发出ＳＯＳ报警", "fall_alarm"),
        ("老人摔倒在路边 头磕破了 爬不起来", "fall_alarm"),
    ];
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = category(text);
        if got.as_deref() != Some(*want) {
            wrong.push(format!("{text}: want {want}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn look_alikes_do_not_fire() {
    let cases: &[&str] = &[
        "消防通道被占了 真着火了咋整",
        "小区消防车道停满车 一旦发生火灾后果不堪设想",
        "消防通道被堵 万一着火消防车进不来",
        "燃气费太贵了 一个月三百多",
        "燃气公司充值系统坏了 交不上费",
        "热水器打不着火 水压太低",
        "去年冬天我妈在这摔倒过",
        "人行道砖都翘起来了 绊倒好几个人了",
        "路面结冰 老人容易摔倒 赶紧撒盐",
        "村东头有人烧秸秆 烟老大了",
        "锅炉房烟囱天天冒黑烟",
        "楼下烧烤店的烟全飘进我家了",
        "长期被噪音困扰 睡不着觉",
        "停车场道闸坏了 车被困在里面出不去",
        "之前打120叫急救车 等了四十分钟才到 要求调查",
        "120急救车收费太贵",
        "父亲脑梗后遗症住院 护工不负责",
        "路灯杆被车撞歪了 电线露着",
        "电线被树枝压着了 一刮风就打火花",
        "小孩晚上睡着了 楼上还在装修",
        "下水井口敞着 孩子差点掉下去",
        "狗把我咬伤了 有出血 去哪打狂犬疫苗",
        "暴雨后积水 老人被困在家里出不来买菜",
        "公交司机急刹车 一名老人摔倒 司机拒不道歉 要求处理该司机",
    ];
    let fired: Vec<String> = cases
        .iter()
        .filter_map(|t| {
            rules()
                .check(t)
                .map(|m| format!("{t}: {} ({})", m.rule_id, m.matched))
        })
        .collect();
    assert!(fired.is_empty(), "{fired:#?}");
}

#[test]
fn the_first_rule_in_the_file_wins() {
    // Fire before gas before falls before medical: the order in the file is the precedence.
    let all = rules().check_all("厨房着火了 还有一股煤气味 老人摔倒了起不来");
    let cats: Vec<&str> = all.iter().map(|m| m.category.as_str()).collect();
    assert_eq!(cats.first(), Some(&"fire"), "{all:?}");
    assert!(
        cats.contains(&"gas_leak") && cats.contains(&"fall_alarm"),
        "{all:?}"
    );
    assert_eq!(
        rules().check("老人摔倒了 头磕破了 起不来").unwrap().rule_id,
        "fall_alarm.fall"
    );
    assert_eq!(
        rules().check("有人晕倒了 叫不醒").unwrap().rule_id,
        "medical.unconscious"
    );
}
