/**
 * Every label of the wall screen, in Vietnamese (the default) and English, from this one table.
 * `{name}` in a label is replaced by `vars.name`. A key missing from the table is a bug: `t()`
 * throws rather than showing a raw key on the wall.
 */

export const languages = /** @type {const} */ (["vi", "en"]);

/** @type {Record<string, { vi: string, en: string }>} */
export const labels = {
  title: { vi: "Trung tâm điều hành số", en: "Digital operations centre" },
  subtitle: { vi: "Viễn thông và dịch vụ công trực tuyến", en: "Telecom and online public services" },
  province_all: { vi: "Toàn tỉnh", en: "Whole province" },
  area_label: { vi: "Địa bàn", en: "Area" },
  area_find: { vi: "Tìm xã, phường…", en: "Find a commune or ward…" },
  former_all: { vi: "Toàn bộ {name} (cũ)", en: "All of former {name}" },
  view_table: { vi: "Bảng xã", en: "Table" },
  table_title: { vi: "Số liệu theo xã, phường hôm nay", en: "Communes and wards today" },
  table_page: { vi: "Trang {page}/{pages}", en: "Page {page} of {pages}" },
  table_note: { vi: "{n} xã, phường đang có hiệu lực", en: "{n} communes and wards in force" },
  col_name: { vi: "Xã, phường", en: "Commune or ward" },
  col_mobile: { vi: "Thuê bao di động", en: "Mobile subscribers" },
  col_bts: { vi: "Trạm BTS", en: "BTS stations" },
  col_btsDown: { vi: "Mất liên lạc", en: "Down" },
  col_received: { vi: "Hồ sơ tiếp nhận", en: "Dossiers received" },
  col_ontime: { vi: "Đúng hạn", en: "On time" },
  col_esign: { vi: "Văn bản điện tử", en: "E-documents" },
  col_reported: { vi: "Nhà mạng đã báo cáo", en: "Carriers reported" },
  retired_readings: { vi: "{n} số liệu ở địa bàn đã giải thể (không cộng vào tổng)", en: "{n} readings in retired areas (in no total)" },
  ftth_no_ratio: { vi: "Không có số hộ theo xã, huyện cũ: không tính tỷ lệ", en: "No household count below the province: no ratio" },
  reported_here: { vi: "Đã báo cáo hôm nay: {list}", en: "Reported today: {list}" },
  kiosk: { vi: "Tự chuyển", en: "Cycle" },
  kiosk_on: { vi: "Đang tự chuyển địa bàn", en: "Cycling through areas" },
  lang_toggle: { vi: "EN", en: "VI" },
  lang_toggle_title: { vi: "Switch to English", en: "Chuyển sang tiếng Việt" },
  utc7: { vi: "Giờ Việt Nam (UTC+7)", en: "Vietnam time (UTC+7)" },

  section_telecom: { vi: "Viễn thông", en: "Telecom" },
  section_gov: { vi: "Chính quyền số", en: "Digital government" },

  mobile: { vi: "Thuê bao di động", en: "Mobile subscribers" },
  mobile_broadband: { vi: "Băng rộng di động", en: "Mobile broadband" },
  fixed_broadband: { vi: "Băng rộng cố định", en: "Fixed broadband" },
  subscribers_unit: { vi: "thuê bao", en: "subscribers" },
  ftth: { vi: "Hộ dùng cáp quang FTTH", en: "Households on FTTH" },
  ftth_of: { vi: "trên {households} hộ", en: "of {households} households" },
  coverage: { vi: "Tỷ lệ phủ", en: "Coverage" },
  target: { vi: "Mục tiêu {value}", en: "Target {value}" },
  baseline: { vi: "Mốc {value}", en: "Baseline {value}" },
  bts: { vi: "Trạm BTS", en: "BTS stations" },
  bts_total: { vi: "Tổng số trạm", en: "Stations" },
  bts_down: { vi: "Mất liên lạc", en: "Down" },
  bts_degraded: { vi: "Suy giảm", en: "Degraded" },
  bts_in_service: { vi: "Đang phát sóng", en: "On air" },
  alarms: { vi: "Trạm mất liên lạc", en: "Stations down" },
  alarms_none: { vi: "Không có trạm nào mất liên lạc", en: "No station is down" },
  alarms_more: { vi: "và {n} trạm khác", en: "and {n} more" },
  alarm_area: { vi: "Xã, phường", en: "Commune or ward" },
  alarm_former: { vi: "Huyện cũ", en: "Former district" },
  alarm_station: { vi: "Trạm", en: "Station" },
  alarm_carrier: { vi: "Nhà mạng", en: "Carrier" },
  alarm_for: { vi: "Thời gian", en: "Down for" },
  day_short: { vi: "ngày", en: "d" },

  esign: { vi: "Văn bản điện tử", en: "E-documents" },
  esign_exchanged: { vi: "văn bản trao đổi hôm nay", en: "documents exchanged today" },
  esign_rate: { vi: "Tỷ lệ ký số", en: "Digitally signed" },
  egov_minute: { vi: "Hồ sơ tiếp nhận / phút", en: "Dossiers per minute" },
  egov_last_minute: { vi: "phút vừa qua", en: "last minute" },
  egov_hour: { vi: "60 phút: {n} hồ sơ", en: "Last 60 min: {n} dossiers" },
  egov_province_wide: { vi: "Số liệu toàn tỉnh", en: "Province-wide figure" },
  today_share: { vi: "tỷ lệ trong ngày hôm nay", en: "share of today's dossiers" },
  ontime_today: { vi: "hồ sơ đã giải quyết hôm nay", en: "of dossiers resolved today" },
  egov_received_today: { vi: "Tiếp nhận hôm nay: {n}", en: "Received today: {n}" },
  online: { vi: "Hồ sơ trực tuyến", en: "Dossiers online" },
  online_full: { vi: "Toàn trình", en: "Fully online" },
  online_partial: { vi: "Một phần", en: "Partly online" },
  ontime: { vi: "Giải quyết đúng hạn", en: "Resolved on time" },
  ontime_counts: { vi: "{ontime} đúng hạn · {late} trễ hạn", en: "{ontime} on time · {late} late" },

  completeness: { vi: "Tình trạng báo cáo", en: "Reporting status" },
  feed_subscribers: { vi: "Thuê bao", en: "Subscribers" },
  feed_bts: { vi: "Trạm BTS", en: "BTS stations" },
  feed_esign: { vi: "Văn bản điện tử", en: "E-documents" },
  feed_egov: { vi: "Dịch vụ công", en: "Public services" },
  reported_carrier: { vi: "{n}/{total} nhà mạng đã báo cáo", en: "{n}/{total} carriers reported" },
  reported_system: { vi: "{n}/{total} hệ thống đã báo cáo", en: "{n}/{total} systems reported" },
  not_final: { vi: "Số liệu chưa đầy đủ", en: "Figures incomplete" },

  state_fresh: { vi: "Đúng nhịp", en: "Fresh" },
  state_late: { vi: "Chậm", en: "Late" },
  state_silent: { vi: "Mất tín hiệu", en: "Silent" },
  state_pipeline_behind: { vi: "Hệ thống xử lý chậm", en: "Pipeline behind" },
  state_unknown: { vi: "Chưa có dữ liệu", en: "No data yet" },
  state_offline: { vi: "Ngoại tuyến", en: "Offline" },

  changed_at: { vi: "Thay đổi lúc {time}", en: "Changed {time}" },
  received_at: { vi: "Nhận lúc {time}", en: "Received {time}" },
  no_data: { vi: "Chưa nhận số liệu", en: "No figure yet" },

  conn_connecting: { vi: "Đang kết nối…", en: "Connecting…" },
  conn_live: { vi: "Trực tuyến", en: "Live" },
  conn_lost: { vi: "Mất kết nối — đang kết nối lại", en: "Connection lost — reconnecting" },
  conn_lost_short: { vi: "Mất kết nối", en: "Offline" },
  conn_denied_short: { vi: "Bị từ chối", en: "Denied" },
  conn_denied: { vi: "Không được phép truy cập (mã xem không hợp lệ)", en: "Access denied (invalid viewer token)" },
  conn_behind: { vi: "Hệ thống đang xử lý chậm: số liệu có thể chưa mới nhất", en: "Pipeline behind: figures may not be the latest" },
  conn_stale_note: { vi: "Số liệu hiển thị là giá trị cuối cùng đã nhận", en: "Figures shown are the last received" },
};

/**
 * The label `key` in `lang`, with `{name}` placeholders filled from `vars`.
 * @param {"vi"|"en"} lang
 * @param {string} key
 * @param {Record<string, string|number>} [vars]
 * @returns {string}
 */
export function t(lang, key, vars) {
  const entry = labels[key];
  if (!entry) throw new Error(`no label ${JSON.stringify(key)}`);
  const text = entry[lang] ?? entry.vi;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;
}

/**
 * The language to show: `?lang=` in the URL, else the one remembered, else Vietnamese.
 * @param {string|null} fromUrl
 * @param {string|null} remembered
 * @returns {"vi"|"en"}
 */
export function pickLanguage(fromUrl, remembered) {
  for (const l of [fromUrl, remembered]) if (l === "vi" || l === "en") return l;
  return "vi";
}
