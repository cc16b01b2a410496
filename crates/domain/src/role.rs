use serde::{Deserialize, Serialize};

/// The kinds of account that log in, each with the identifier the seeds give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserType {
    /// 非执业会员: logs in with the member certificate number.
    NonPracticingMember,
    /// 注册会计师: logs in with the 12-digit CPA number.
    Cpa,
    /// 会计师事务所: logs in with the 8-digit firm number.
    Firm,
    /// 中注协 / 省注协 / 市注协 staff: logs in with a staff account.
    AssociationStaff,
    /// Staff of a national accounting institute (国家会计学院): a staff account.
    InstituteStaff,
}

impl UserType {
    pub const ALL: [UserType; 5] = [
        UserType::NonPracticingMember,
        UserType::Cpa,
        UserType::Firm,
        UserType::AssociationStaff,
        UserType::InstituteStaff,
    ];

    pub fn code(self) -> &'static str {
        match self {
            UserType::NonPracticingMember => "member",
            UserType::Cpa => "cpa",
            UserType::Firm => "firm",
            UserType::AssociationStaff => "staff",
            UserType::InstituteStaff => "institute",
        }
    }

    pub fn from_code(code: &str) -> Option<UserType> {
        UserType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The label of the login form's 用户类型 list.
    pub fn label(self) -> &'static str {
        match self {
            UserType::NonPracticingMember => "非执业会员",
            UserType::Cpa => "注册会计师",
            UserType::Firm => "会计师事务所",
            UserType::AssociationStaff => "中\\省\\市注协",
            UserType::InstituteStaff => "国家会计学院",
        }
    }

    /// What the 用户名称 field holds for this type.
    pub fn login_hint(self) -> &'static str {
        match self {
            UserType::NonPracticingMember => "非执业会员证书编号",
            UserType::Cpa => "注册会计师证书编号",
            UserType::Firm => "会计师事务所编号",
            UserType::AssociationStaff => "注协工作人员账号",
            UserType::InstituteStaff => "学院工作人员账号",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum AssociationLevel {
    National,
    Provincial,
    City,
}

impl AssociationLevel {
    pub fn code(self) -> &'static str {
        match self {
            AssociationLevel::National => "national",
            AssociationLevel::Provincial => "provincial",
            AssociationLevel::City => "city",
        }
    }

    pub fn from_code(code: &str) -> Option<AssociationLevel> {
        match code {
            "national" => Some(AssociationLevel::National),
            "provincial" => Some(AssociationLevel::Provincial),
            "city" => Some(AssociationLevel::City),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AssociationLevel::National => "中注协",
            AssociationLevel::Provincial => "省注协",
            AssociationLevel::City => "市注协",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_type_codes_round_trip() {
        for t in UserType::ALL {
            assert_eq!(UserType::from_code(t.code()), Some(t));
        }
        assert_eq!(UserType::from_code("admin"), None);
    }

    #[test]
    fn levels_round_trip() {
        for l in [AssociationLevel::National, AssociationLevel::Provincial, AssociationLevel::City] {
            assert_eq!(AssociationLevel::from_code(l.code()), Some(l));
        }
    }
}
