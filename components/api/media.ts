/**
 * Installer ISOs, cloud images and container templates: one download.File
 * per node and file, shared by every guest that uses the same file there.
 * The provider makes Proxmox fetch the URL itself (`download-url` API) and
 * names the result `<storage>:<content>/<fileName>` (bpg v0.111.x
 * fwprovider/nodes/resource_download_file.go), the volume id the guests use.
 *
 * Where: an ISO on every node the guest may run on (a start elsewhere fails
 * without it); a cloud image or a container template only on the home node,
 * where the guest is created (they are read at creation only: the imported
 * disk and the root file system replicate like any other volume).
 */
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import { guestMedia, type Media, type Site } from "../model";
import { childOpts, defined, membership, type ApiContext } from "./context";

/** Key of a download: node and volume id. */
export const mediaKey = (node: string, m: Pick<Media, "volumeId">) => `${node} ${m.volumeId}`;

/** Resource name of a download: `<component>-<content>-<node>[-<storage>]-<fileName>`. */
export function mediaName(prefix: string, node: string, m: Media): string {
    return `${prefix}-${m.content}-${node}${m.storage === "local" ? "" : `-${m.storage}`}-${m.fileName}`;
}

/** Every download of the site, in guest order, once per node and file. */
export function siteMedia(site: Site): { node: string; media: Media; guests: number[] }[] {
    const out = new Map<string, { node: string; media: Media; guests: number[] }>();
    for (const g of site.guests) {
        for (const { node, media } of guestMedia(g)) {
            const k = mediaKey(node, media);
            const e = out.get(k);
            if (e) e.guests.push(g.vmid);
            else out.set(k, { node, media, guests: [g.vmid] });
        }
    }
    return [...out.values()];
}

export function createMedia(ctx: ApiContext): ReadonlyMap<string, proxmox.download.File> {
    const files = new Map<string, proxmox.download.File>();
    for (const { node, media } of siteMedia(ctx.site)) {
        files.set(
            mediaKey(node, media),
            new proxmox.download.File(
                mediaName(ctx.name, node, media),
                defined({
                    nodeName: node,
                    datastoreId: media.storage,
                    contentType: media.content,
                    url: media.url,
                    fileName: media.fileName,
                    checksum: media.checksum,
                    checksumAlgorithm: media.checksumAlgorithm,
                    decompressionAlgorithm: media.decompression,
                    // Never re-download because the file at the URL changed
                    // size (a new "latest" image): that would replace the
                    // file under running guests on every upstream release.
                    overwrite: false,
                }),
                childOpts(ctx, membership(ctx, node)),
            ),
        );
    }
    return files;
}
