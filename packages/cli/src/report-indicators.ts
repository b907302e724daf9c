/**
 * The indicators of `pulse report`, with the Vietnamese names of the department's statistical
 * reporting. `tt04` marks those named as in the telecom indicators reported under Thông tư
 * 04/2022/TT-BTTTT (subscribers by kind, BTS stations); the others are Pulse's own, with the
 * names the wall screen and Grafana use (docs/operations.md says which is which).
 */
import { kpiLabels, type Kpi } from "@pulse/contracts";

export interface Indicator {
  code: string;
  vi: string;
  en: string;
  unit: string;
  tt04: boolean;
}

const i = (code: string, vi: string, en: string, unit: string, tt04 = false): Indicator => ({ code, vi, en, unit, tt04 });

export const telecomIndicators = {
  mobile: i("thue_bao_di_dong", "Số thuê bao điện thoại di động", "Mobile subscribers", "thuê bao", true),
  mobile_broadband: i(
    "thue_bao_bang_rong_di_dong",
    "Số thuê bao truy nhập Internet băng rộng di động",
    "Mobile broadband subscribers",
    "thuê bao",
    true,
  ),
  fixed_broadband: i(
    "thue_bao_bang_rong_co_dinh",
    "Số thuê bao truy nhập Internet băng rộng cố định",
    "Fixed broadband subscribers",
    "thuê bao",
    true,
  ),
  ftth: i("thue_bao_ftth", "Trong đó: thuê bao băng rộng cố định cáp quang (FTTH)", "of which fibre (FTTH)", "thuê bao", true),
  bts: i("tram_bts", "Số trạm thu phát sóng thông tin di động (BTS)", "BTS stations (not removed)", "trạm", true),
  bts_5g: i("tram_bts_5g", "Trong đó: trạm 5G", "of which 5G", "trạm", true),
  bts_down: i("tram_bts_mat_lien_lac", "Số trạm BTS mất liên lạc tại thời điểm cuối kỳ", "BTS stations down at month end", "trạm"),
} as const;

export const egovIndicators = {
  documents: i("van_ban_dien_tu", "Số văn bản điện tử gửi, nhận", "E-documents exchanged", "văn bản"),
  signed: i("van_ban_ky_so", "Trong đó: văn bản có ký số", "of which digitally signed", "văn bản"),
  received: i("ho_so_tiep_nhan", "Số hồ sơ thủ tục hành chính tiếp nhận", "Dossiers received", "hồ sơ"),
  online: i("ho_so_truc_tuyen", "Trong đó: tiếp nhận trực tuyến", "of which online", "hồ sơ"),
  online_full: i("ho_so_truc_tuyen_toan_trinh", "Trong đó: trực tuyến toàn trình", "of which fully online", "hồ sơ"),
  on_time: i("ho_so_dung_han", "Số hồ sơ giải quyết đúng hạn", "Dossiers resolved on time", "hồ sơ"),
  late: i("ho_so_qua_han", "Số hồ sơ giải quyết quá hạn", "Dossiers resolved late", "hồ sơ"),
  rejected: i("ho_so_tu_choi", "Số hồ sơ từ chối", "Dossiers rejected", "hồ sơ"),
} as const;

/** The KPIs, named as contracts name them (the wall screen's tiles). */
export const kpiIndicator = (k: Kpi): Indicator => i(`ty_le_${k}`, kpiLabels[k].vi, kpiLabels[k].en, "%");

export const scopeLabels = {
  total: "Toàn tỉnh",
  /** Districts, in months before July 2025. */
  district: "Cấp huyện",
  /** Communes and wards, from July 2025. */
  commune: "Cấp xã",
  /** A former district's subtotal: the sum of its communes (from July 2025). */
  former_district: "Huyện cũ (cộng)",
  province_agencies: "Cơ quan cấp tỉnh",
} as const;

/** A carrier that sent no reading that month in an area in force: not 0, not known. */
export const notReportedLabel = "Không báo cáo";

export const columns = {
  month: "Kỳ báo cáo",
  area: "Mã ĐVHC",
  areaName: "Đơn vị hành chính",
  scope: "Phạm vi",
  formerDistrict: "Huyện cũ",
  source: "Mã đơn vị báo cáo",
  sourceName: "Đơn vị báo cáo",
  code: "Mã chỉ tiêu",
  indicator: "Tên chỉ tiêu",
  unit: "Đơn vị tính",
  value: "Giá trị",
  note: "Ghi chú",
} as const;
