import type { Feed } from "./subjects";

/** The closed vocabularies of the feeds, as DESIGN.md defines them. */
export const services = ["mobile", "mobile_broadband", "fixed_broadband", "ftth"] as const;
export const techs = ["2G", "3G", "4G", "5G"] as const;
export const btsStatuses = ["up", "degraded", "down", "removed"] as const;
export const signers = ["organization", "personal"] as const;
export const levels = ["province", "district", "commune"] as const;
export const channels = ["online_full", "online_partial", "in_person"] as const;
export const egovStatuses = ["received", "resolved_on_time", "resolved_late", "rejected"] as const;

export type Service = (typeof services)[number];
export type Tech = (typeof techs)[number];
export type BtsStatus = (typeof btsStatuses)[number];
export type Signer = (typeof signers)[number];
export type Level = (typeof levels)[number];
export type Channel = (typeof channels)[number];
export type EgovStatus = (typeof egovStatuses)[number];

export interface SubscribersData {
  service: Service;
  count: number;
}
export interface BtsData {
  station: string;
  tech: Tech;
  status: BtsStatus;
}
export interface EsignData {
  agency: string;
  doc: string;
  signed: boolean;
  signer: Signer;
}
export interface EgovData {
  procedure: string;
  agency: string;
  level: Level;
  channel: Channel;
  status: EgovStatus;
}

export interface FeedData {
  subscribers: SubscribersData;
  bts: BtsData;
  esign: EsignData;
  egov: EgovData;
}

/** Gauges keep the latest value per key; event feeds are counted into buckets. */
export const feedKind: Record<Feed, "gauge" | "event"> = {
  subscribers: "gauge",
  bts: "gauge",
  esign: "event",
  egov: "event",
};

/** Largest subscriber count a reading may carry. */
export const maxCount = 1_000_000_000;
/** Longest id, station, agency, doc or procedure string. */
export const maxStringLength = 128;
