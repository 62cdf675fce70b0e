// What kiln does in the subscription, as custom roles holding exactly the actions kiln's code performs (each is
// listed with the code that needs it in docs/deploy.md): staging resource groups can only be created with a
// subscription-scope grant, and the build VM, its network, its staging storage account, images and gallery
// versions live in groups that exist only while kiln builds.
targetScope = 'subscription'

param environmentName string
param principalId string

@description('Also assign Contributor on the subscription (opt-in).')
param grantContributor bool = false

var builderActions = [
  // Staging resource groups: create with tags, read, check existence, list by tag, delete.
  'Microsoft.Resources/subscriptions/resourceGroups/read'
  'Microsoft.Resources/subscriptions/resourceGroups/write'
  'Microsoft.Resources/subscriptions/resourceGroups/delete'
  // Generic resources: list a group's resources, list by tag across the subscription (janitor).
  'Microsoft.Resources/subscriptions/resourceGroups/resources/read'
  'Microsoft.Resources/subscriptions/resources/read'
  // The build VM's ARM deployment: start, read, cancel, read its operations.
  'Microsoft.Resources/deployments/read'
  'Microsoft.Resources/deployments/write'
  'Microsoft.Resources/deployments/cancel/action'
  'Microsoft.Resources/deployments/operations/read'
  // The build VM: created by the deployment, read, deallocated, generalized, restarted, deleted.
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Compute/virtualMachines/write'
  'Microsoft.Compute/virtualMachines/delete'
  'Microsoft.Compute/virtualMachines/deallocate/action'
  'Microsoft.Compute/virtualMachines/generalize/action'
  'Microsoft.Compute/virtualMachines/restart/action'
  // Customizers: managed Run Commands.
  'Microsoft.Compute/virtualMachines/runCommands/read'
  'Microsoft.Compute/virtualMachines/runCommands/write'
  'Microsoft.Compute/virtualMachines/runCommands/delete'
  // The OS and data disks the VM creates; read access (SAS) to the OS disk for a VHD, revoked after.
  'Microsoft.Compute/disks/read'
  'Microsoft.Compute/disks/write'
  'Microsoft.Compute/disks/delete'
  'Microsoft.Compute/disks/beginGetAccess/action'
  'Microsoft.Compute/disks/endGetAccess/action'
  'Microsoft.Compute/locations/diskOperations/read'
  // Managed images: source (read) and distribution target (write, read, delete).
  'Microsoft.Compute/images/read'
  'Microsoft.Compute/images/write'
  'Microsoft.Compute/images/delete'
  // Compute Gallery: image definitions read; image versions as source (read) and target (write, delete).
  'Microsoft.Compute/galleries/images/read'
  'Microsoft.Compute/galleries/images/versions/read'
  'Microsoft.Compute/galleries/images/versions/write'
  'Microsoft.Compute/galleries/images/versions/delete'
  // Marketplace sources: list and get image versions.
  'Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read'
  // The build VM's network (when the template gives no subnet), and joining a given subnet.
  'Microsoft.Network/networkSecurityGroups/read'
  'Microsoft.Network/networkSecurityGroups/write'
  'Microsoft.Network/networkSecurityGroups/delete'
  'Microsoft.Network/networkSecurityGroups/join/action'
  'Microsoft.Network/virtualNetworks/read'
  'Microsoft.Network/virtualNetworks/write'
  'Microsoft.Network/virtualNetworks/delete'
  'Microsoft.Network/virtualNetworks/subnets/join/action'
  'Microsoft.Network/publicIPAddresses/read'
  'Microsoft.Network/publicIPAddresses/write'
  'Microsoft.Network/publicIPAddresses/delete'
  'Microsoft.Network/publicIPAddresses/join/action'
  'Microsoft.Network/networkInterfaces/read'
  'Microsoft.Network/networkInterfaces/write'
  'Microsoft.Network/networkInterfaces/delete'
  'Microsoft.Network/networkInterfaces/join/action'
  // The staging storage account (artifacts, customization.log, VHDs): created by the deployment, swept by the janitor.
  'Microsoft.Storage/storageAccounts/read'
  'Microsoft.Storage/storageAccounts/write'
  'Microsoft.Storage/storageAccounts/delete'
  'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/write'
]

var builderDataActions = [
  // Artifacts, append-blob logs (Run Command writes them through a user-delegation SAS), VHD copies.
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
]

var contributorRoleId = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource builder 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'kiln-builder')
  properties: {
    roleName: 'kiln image builder (${environmentName}, ${take(subscription().subscriptionId, 8)})'
    description: 'What kiln does to build images: staging resource groups, the build VM deployment, Run Command, capture, distribution, cleanup.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: builderActions
        notActions: []
        dataActions: builderDataActions
        notDataActions: []
      }
    ]
  }
}

// The build VM deployment's admin password is a Key Vault reference: ARM checks deploy/action on the vault.
// A role of its own, so that it is granted on kiln's vault only.
resource keyVaultReference 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'kiln-keyvault-reference')
  properties: {
    roleName: 'kiln Key Vault template reference (${environmentName}, ${take(subscription().subscriptionId, 8)})'
    description: 'Lets ARM deployments started by kiln reference secrets of kiln\'s vault.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.KeyVault/vaults/deploy/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// kiln acts as the template's identity (docs/security.md): preflight and the API's linked access check read
// role assignments and definitions to learn what an identity or a caller may do. Read only, a role of its own.
resource accessReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'kiln-access-reader')
  properties: {
    roleName: 'kiln access reader (${environmentName}, ${take(subscription().subscriptionId, 8)})'
    description: 'Lets kiln read role assignments and definitions, to check a template identity and a caller.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Authorization/roleAssignments/read'
          'Microsoft.Authorization/roleDefinitions/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource accessReaderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, accessReader.id)
  properties: {
    roleDefinitionId: accessReader.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'kiln checks what template identities and callers may do.'
  }
}

resource builderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, builder.id)
  properties: {
    roleDefinitionId: builder.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'kiln builds images in this subscription.'
  }
}

resource contributorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantContributor) {
  name: guid(subscription().id, principalId, contributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Opt-in (grantContributor): broader than what kiln\'s code does.'
  }
}

output builderRoleId string = builder.id
output keyVaultReferenceRoleId string = keyVaultReference.id
