// The vault of build VM credentials (KILN_KEY_VAULT_URL / KILN_KEY_VAULT_ID): kiln writes each build VM's admin
// password here and the build VM's ARM deployment references it (enabledForTemplateDeployment). RBAC only.
param name string
param location string
param tags object

@description('Recover the soft-deleted vault of this name (purge protection keeps it 7 days after deletion).')
param recover bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: kiln and ARM reach the vault over its public endpoint (no virtual network); access is by Entra RBAC only
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109: public endpoint, RBAC-only access
  name: name
  location: location
  tags: tags
  properties: {
    createMode: recover ? 'recover' : 'default'
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enabledForTemplateDeployment: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
