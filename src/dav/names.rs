//! Every XML element and property name the proxy speaks, as namespace-resolved
//! constants.
//!
//! A [`QName`] is a `(namespace, local name)` pair; prefixes never matter.
//! Constants are grouped by namespace: `DAV:` (RFC 4918, 3744, 5397, 6578),
//! CalDAV (RFC 4791, 6638), CalendarServer (`CS_*`) and Apple iCal (`ICAL_*`
//! where the plain name would be ambiguous).

use std::borrow::Cow;
use std::fmt;

/// The WebDAV namespace.
pub const NS_DAV: &str = "DAV:";
/// The CalDAV namespace (RFC 4791).
pub const NS_CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// The CalendarServer extensions namespace (getctag, source, sharing).
pub const NS_CS: &str = "http://calendarserver.org/ns/";
/// Apple's iCal namespace (calendar-color, calendar-order).
pub const NS_ICAL: &str = "http://apple.com/ns/ical/";

/// A namespace-qualified XML name. An empty `ns` means "no namespace".
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    /// Namespace URI (not a prefix).
    pub ns: Cow<'static, str>,
    /// Local name.
    pub local: Cow<'static, str>,
}

impl QName {
    /// A name in a static namespace.
    pub const fn new_static(ns: &'static str, local: &'static str) -> Self {
        Self {
            ns: Cow::Borrowed(ns),
            local: Cow::Borrowed(local),
        }
    }
    /// A `DAV:` name.
    pub const fn dav(local: &'static str) -> Self {
        Self::new_static(NS_DAV, local)
    }
    /// A CalDAV name.
    pub const fn caldav(local: &'static str) -> Self {
        Self::new_static(NS_CALDAV, local)
    }
    /// A CalendarServer name.
    pub const fn cs(local: &'static str) -> Self {
        Self::new_static(NS_CS, local)
    }
    /// An Apple iCal name.
    pub const fn ical(local: &'static str) -> Self {
        Self::new_static(NS_ICAL, local)
    }
    /// A name built at run time (for example from a request body).
    pub fn new(ns: impl Into<String>, local: impl Into<String>) -> Self {
        Self {
            ns: Cow::Owned(ns.into()),
            local: Cow::Owned(local.into()),
        }
    }
    /// True when both parts match.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

/// The empty name (no namespace, empty local part); only a placeholder.
impl Default for QName {
    fn default() -> Self {
        QName::new_static("", "")
    }
}

/// Clark notation: `{DAV:}displayname`.
impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}{}", self.ns, self.local)
    }
}

macro_rules! names {
    ($ctor:ident: $($(#[$doc:meta])* $name:ident = $local:literal;)*) => {
        $($(#[$doc])* pub const $name: QName = QName::$ctor($local);)*
    };
}

// ---- DAV: structure (RFC 4918 §14) ----
names! { dav:
    /// `DAV:multistatus`
    MULTISTATUS = "multistatus";
    /// `DAV:response`
    RESPONSE = "response";
    /// `DAV:href`
    HREF = "href";
    /// `DAV:propstat`
    PROPSTAT = "propstat";
    /// `DAV:prop`
    PROP = "prop";
    /// `DAV:status`
    STATUS = "status";
    /// `DAV:error`
    ERROR = "error";
    /// `DAV:responsedescription`
    RESPONSEDESCRIPTION = "responsedescription";
    /// `DAV:propfind`
    PROPFIND = "propfind";
    /// `DAV:allprop`
    ALLPROP = "allprop";
    /// `DAV:propname`
    PROPNAME = "propname";
    /// `DAV:include`
    INCLUDE = "include";
    /// `DAV:propertyupdate`
    PROPERTYUPDATE = "propertyupdate";
    /// `DAV:set`
    SET = "set";
    /// `DAV:remove`
    REMOVE = "remove";
    /// `DAV:sync-collection` (RFC 6578)
    SYNC_COLLECTION = "sync-collection";
    /// `DAV:sync-level`
    SYNC_LEVEL = "sync-level";
    /// `DAV:limit`
    LIMIT = "limit";
    /// `DAV:nresults`
    NRESULTS = "nresults";
    /// `DAV:privilege`
    PRIVILEGE = "privilege";
    /// `DAV:supported-report`
    SUPPORTED_REPORT = "supported-report";
    /// `DAV:report`
    REPORT = "report";
    /// `DAV:need-privileges` (RFC 3744)
    NEED_PRIVILEGES = "need-privileges";
    /// `DAV:resource`
    RESOURCE = "resource";
}

// ---- DAV: properties ----
names! { dav:
    /// `DAV:displayname`
    DISPLAYNAME = "displayname";
    /// `DAV:resourcetype`
    RESOURCETYPE = "resourcetype";
    /// `DAV:getetag`
    GETETAG = "getetag";
    /// `DAV:sync-token` (property and multistatus child)
    SYNC_TOKEN = "sync-token";
    /// `DAV:getcontenttype`
    GETCONTENTTYPE = "getcontenttype";
    /// `DAV:getlastmodified`
    GETLASTMODIFIED = "getlastmodified";
    /// `DAV:getcontentlength`
    GETCONTENTLENGTH = "getcontentlength";
    /// `DAV:creationdate`
    CREATIONDATE = "creationdate";
    /// `DAV:current-user-principal` (RFC 5397)
    CURRENT_USER_PRINCIPAL = "current-user-principal";
    /// `DAV:principal-URL`
    PRINCIPAL_URL = "principal-URL";
    /// `DAV:owner`
    OWNER = "owner";
    /// `DAV:supported-report-set`
    SUPPORTED_REPORT_SET = "supported-report-set";
    /// `DAV:current-user-privilege-set`
    CURRENT_USER_PRIVILEGE_SET = "current-user-privilege-set";
    /// `DAV:principal-collection-set`
    PRINCIPAL_COLLECTION_SET = "principal-collection-set";
    /// `DAV:quota-available-bytes`
    QUOTA_AVAILABLE_BYTES = "quota-available-bytes";
    /// `DAV:quota-used-bytes`
    QUOTA_USED_BYTES = "quota-used-bytes";
}

// ---- DAV: resource types and privileges ----
names! { dav:
    /// `DAV:collection`
    COLLECTION = "collection";
    /// `DAV:principal`
    PRINCIPAL = "principal";
    /// `DAV:read`
    READ = "read";
    /// `DAV:write`
    WRITE = "write";
    /// `DAV:write-properties`
    WRITE_PROPERTIES = "write-properties";
    /// `DAV:write-content`
    WRITE_CONTENT = "write-content";
    /// `DAV:bind`
    BIND = "bind";
    /// `DAV:unbind`
    UNBIND = "unbind";
    /// `DAV:read-current-user-privilege-set`
    READ_CURRENT_USER_PRIVILEGE_SET = "read-current-user-privilege-set";
    /// `DAV:all`
    ALL = "all";
    /// `DAV:unauthenticated` (inside current-user-principal)
    UNAUTHENTICATED = "unauthenticated";
}

// ---- CalDAV properties and elements (RFC 4791, 6638) ----
names! { caldav:
    /// `C:calendar-home-set`
    CALENDAR_HOME_SET = "calendar-home-set";
    /// `C:calendar-user-address-set` (RFC 6638)
    CALENDAR_USER_ADDRESS_SET = "calendar-user-address-set";
    /// `C:supported-calendar-component-set`
    SUPPORTED_CALENDAR_COMPONENT_SET = "supported-calendar-component-set";
    /// `C:supported-calendar-data`
    SUPPORTED_CALENDAR_DATA = "supported-calendar-data";
    /// `C:calendar-description`
    CALENDAR_DESCRIPTION = "calendar-description";
    /// `C:calendar-timezone`
    CALENDAR_TIMEZONE = "calendar-timezone";
    /// `C:calendar-data`
    CALENDAR_DATA = "calendar-data";
    /// `C:max-resource-size`
    MAX_RESOURCE_SIZE = "max-resource-size";
    /// `C:min-date-time`
    MIN_DATE_TIME = "min-date-time";
    /// `C:max-date-time`
    MAX_DATE_TIME = "max-date-time";
    /// `C:max-instances`
    MAX_INSTANCES = "max-instances";
    /// `C:max-attendees-per-instance`
    MAX_ATTENDEES_PER_INSTANCE = "max-attendees-per-instance";
    /// `C:schedule-calendar-transp` (RFC 6638)
    SCHEDULE_CALENDAR_TRANSP = "schedule-calendar-transp";
    /// `C:opaque`
    OPAQUE = "opaque";
    /// `C:transparent`
    TRANSPARENT = "transparent";
    /// `C:schedule-inbox-URL`
    SCHEDULE_INBOX_URL = "schedule-inbox-URL";
    /// `C:schedule-outbox-URL`
    SCHEDULE_OUTBOX_URL = "schedule-outbox-URL";
    /// `C:calendar` resource type
    CALENDAR = "calendar";
    /// `C:schedule-inbox` resource type
    SCHEDULE_INBOX = "schedule-inbox";
    /// `C:schedule-outbox` resource type
    SCHEDULE_OUTBOX = "schedule-outbox";
    /// `C:read-free-busy` privilege
    READ_FREE_BUSY = "read-free-busy";
    /// `C:schedule-deliver` privilege
    SCHEDULE_DELIVER = "schedule-deliver";
    /// `C:schedule-send` privilege
    SCHEDULE_SEND = "schedule-send";
    /// `C:calendar-query` report
    CALENDAR_QUERY = "calendar-query";
    /// `C:calendar-multiget` report
    CALENDAR_MULTIGET = "calendar-multiget";
    /// `C:free-busy-query` report
    FREE_BUSY_QUERY = "free-busy-query";
    /// `C:filter`
    FILTER = "filter";
    /// `C:comp-filter`
    COMP_FILTER = "comp-filter";
    /// `C:prop-filter`
    PROP_FILTER = "prop-filter";
    /// `C:param-filter`
    PARAM_FILTER = "param-filter";
    /// `C:is-not-defined`
    IS_NOT_DEFINED = "is-not-defined";
    /// `C:text-match`
    TEXT_MATCH = "text-match";
    /// `C:time-range`
    TIME_RANGE = "time-range";
    /// `C:timezone`
    TIMEZONE = "timezone";
    /// `C:timezone-id` (RFC 7809)
    TIMEZONE_ID = "timezone-id";
    /// `C:comp`
    COMP = "comp";
    /// `C:allcomp`
    ALLCOMP = "allcomp";
    /// `C:allprop`
    CAL_ALLPROP = "allprop";
    /// `C:prop` (inside calendar-data)
    CAL_PROP = "prop";
    /// `C:expand`
    EXPAND = "expand";
    /// `C:limit-recurrence-set`
    LIMIT_RECURRENCE_SET = "limit-recurrence-set";
    /// `C:limit-freebusy-set`
    LIMIT_FREEBUSY_SET = "limit-freebusy-set";
}

// ---- CalendarServer and Apple iCal ----
names! { cs:
    /// `CS:getctag`
    GETCTAG = "getctag";
    /// `CS:source` (subscribed calendars)
    CS_SOURCE = "source";
    /// `CS:subscribed` resource type
    CS_SUBSCRIBED = "subscribed";
    /// `CS:shared` resource type
    CS_SHARED = "shared";
    /// `CS:shared-owner` resource type
    CS_SHARED_OWNER = "shared-owner";
    /// `CS:notification` resource type
    CS_NOTIFICATION = "notification";
    /// `CS:calendar-proxy-read-for`
    CS_CALENDAR_PROXY_READ_FOR = "calendar-proxy-read-for";
    /// `CS:calendar-proxy-write-for`
    CS_CALENDAR_PROXY_WRITE_FOR = "calendar-proxy-write-for";
}
names! { ical:
    /// `ICAL:calendar-color`
    CALENDAR_COLOR = "calendar-color";
    /// `ICAL:calendar-order`
    CALENDAR_ORDER = "calendar-order";
}
